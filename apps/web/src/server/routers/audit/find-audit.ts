import 'server-only';
import type { Prisma } from '../../db';
import { protectedProcedure } from '../../trpc/init';
import { findAuditInput, type FindAuditInput } from './find-audit.schema';
import { presentAuditEntry } from '../../presenters/audit-presenter';

/** The audit entries a filter selects (actor, action, outcome, time range): the list's and the export's. */
export function auditWhere(input: Omit<FindAuditInput, 'page' | 'perPage'>): Prisma.AuditEntryWhereInput {
  return {
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
}

/** The audit log, newest first, filtered by actor, action, outcome and time range; every role reads it. */
export const findAudit = protectedProcedure.input(findAuditInput).query(async ({ ctx, input }) => {
  const where = auditWhere(input);
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
