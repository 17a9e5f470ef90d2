import 'server-only';
import { adminProcedure } from '../../trpc/init';

export const findUsers = adminProcedure.query(async ({ ctx }) => {
  const users = await ctx.services.prisma.user.findMany({
    orderBy: { createdAt: 'asc' },
    select: { id: true, email: true, name: true, role: true, createdAt: true, disabledAt: true },
  });
  return users.map((u) => ({
    ...u,
    createdAt: u.createdAt.toISOString(),
    disabledAt: u.disabledAt?.toISOString() ?? null,
  }));
});
