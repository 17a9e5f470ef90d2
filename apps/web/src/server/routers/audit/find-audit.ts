import 'server-only';
import type { Prisma } from '../../db';
import { protectedProcedure } from '../../trpc/init';
import { findAuditInput } from './find-audit.schema';
import { presentAuditEntry } from '../../presenters/audit-presenter';

/** The audit log, newest first, filtered by actor, action, outcome and time range; every role reads it. */
export const findAudit = protectedProcedure.input(findAuditInput).query(async ({ ctx, input }) => {
  const where: Prisma.AuditEntryWhereInput = {
    ...(input.actor ? { actorEmail: { contains: input.actor, mode: 'insensitive' } } : {}),
    ...(input.action ? { action: input.action } : {}),
    ...(input.outcome ? { outcome: input.outcome } : {}),
    ...(input.from !== undefined || input.to !== undefined
      ? {
          at: {
            ...(input.from !== undefined ? { gte: new Date(input.from) } : {}),
            ...(input.to !== undefined ? { lte: new Date(input.to) } : {}),
          },
        }
      : {}),
  };
  const { prisma } = ctx.services;
  const [total, rows] = await Promise.all([
    prisma.auditEntry.count({ where }),
    prisma.auditEntry.findMany({
      where,
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      skip: (input.page - 1) * input.perPage,
      take: input.perPage,
    }),
  ]);
  return { total, page: input.page, perPage: input.perPage, items: rows.map(presentAuditEntry) };
});
