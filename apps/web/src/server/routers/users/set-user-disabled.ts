import 'server-only';
import { TRPCError } from '@trpc/server';
import { adminProcedure } from '../../trpc/init';
import { recordAudit } from '../../services/audit';
import { setUserDisabledInput } from './set-user-disabled.schema';

/**
 * Disables a user (they cannot sign in, and every session they have ends at once) or enables them again.
 * Nobody disables themselves, and the last enabled admin stays enabled (a guard against a race between two
 * admins disabling each other), so the console never locks out.
 */
export const setUserDisabled = adminProcedure.input(setUserDisabledInput).mutation(async ({ ctx, input }) => {
  return ctx.services.prisma.$transaction(
    async (tx) => {
      const user = await tx.user.findUnique({ where: { id: input.userId } });
      if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });
      if (input.disabled && user.id === ctx.user.id) {
        throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'You cannot disable your own account.' });
      }
      if (input.disabled && user.role === 'admin' && !user.disabledAt) {
        const admins = await tx.user.count({ where: { role: 'admin', disabledAt: null } });
        if (admins <= 1) {
          throw new TRPCError({
            code: 'PRECONDITION_FAILED',
            message: 'The last enabled admin cannot be disabled.',
          });
        }
      }
      const disabledAt = input.disabled ? (user.disabledAt ?? new Date()) : null;
      const updated = await tx.user.update({ where: { id: user.id }, data: { disabledAt } });
      const ended = input.disabled ? (await tx.session.deleteMany({ where: { userId: user.id } })).count : 0;
      await recordAudit(tx, {
        actor: ctx.user,
        action: input.disabled ? 'user.disable' : 'user.enable',
        target: user.email,
        before: { disabled: user.disabledAt !== null },
        after: { disabled: updated.disabledAt !== null },
        detail: input.disabled ? { sessionsEnded: ended } : undefined,
        reason: input.reason ?? null,
        outcome: 'ok',
      });
      return { id: updated.id, email: updated.email, disabledAt: updated.disabledAt?.toISOString() ?? null };
    },
    // Two admins disabling or demoting each other at once must not both pass the last-admin check.
    { isolationLevel: 'Serializable' },
  );
});
