import 'server-only';
import { TRPCError } from '@trpc/server';
import { adminProcedure } from '../../trpc/init';
import { recordAudit } from '../../services/audit';
import { hashPassword } from '../../services/users';
import { setUserPasswordInput } from './set-user-password.schema';

/** An admin sets a new password; the user's sessions end, so every device signs in again. */
export const setUserPassword = adminProcedure.input(setUserPasswordInput).mutation(async ({ ctx, input }) => {
  const { prisma, auth } = ctx.services;
  const hash = await hashPassword(auth, input.password);
  return prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: input.userId } });
    if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });
    const res = await tx.account.updateMany({
      where: { userId: user.id, providerId: 'credential' },
      data: { password: hash, updatedAt: new Date() },
    });
    if (res.count === 0) {
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'This user has no password sign-in.' });
    }
    const ended = await tx.session.deleteMany({ where: { userId: user.id } });
    await recordAudit(tx, {
      actor: ctx.user,
      action: 'user.password',
      target: user.email,
      outcome: 'ok',
      detail: { sessionsEnded: ended.count },
    });
    return { ok: true as const, sessionsEnded: ended.count };
  });
});
