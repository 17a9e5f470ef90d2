import 'server-only';
import { protectedProcedure } from '../../trpc/init';

/** Everyone who appears in the audit log (the actor filter's suggestions). */
export const findAuditActors = protectedProcedure.query(async ({ ctx }) => {
  const rows = await ctx.services.prisma.auditEntry.findMany({
    where: { actorEmail: { not: null } },
    distinct: ['actorEmail'],
    select: { actorEmail: true },
    orderBy: { actorEmail: 'asc' },
    take: 500,
  });
  return rows.map((r) => r.actorEmail!);
});
