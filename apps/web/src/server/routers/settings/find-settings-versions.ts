import 'server-only';
import { z } from 'zod';
import { paginationInput } from '../shared/pagination.schema';
import { protectedProcedure } from '../../trpc/init';

export const findSettingsVersionsInput = z.object({ ...paginationInput });

/** The history of settings versions saved from the console (the audit database's copy), newest first. */
export const findSettingsVersions = protectedProcedure
  .input(findSettingsVersionsInput)
  .query(async ({ ctx, input }) => {
    const { prisma } = ctx.services;
    const [total, rows] = await Promise.all([
      prisma.settingsVersion.count(),
      prisma.settingsVersion.findMany({
        orderBy: { version: 'desc' },
        skip: (input.page - 1) * input.perPage,
        take: input.perPage,
      }),
    ]);
    return {
      total,
      page: input.page,
      perPage: input.perPage,
      items: rows.map((r) => ({
        version: r.version,
        settings: r.settings as Record<string, unknown>,
        createdAt: r.createdAt.toISOString(),
        createdBy: r.createdBy,
        reason: r.reason,
      })),
    };
  });
