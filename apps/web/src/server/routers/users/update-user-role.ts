import 'server-only';
import { TRPCError } from '@trpc/server';
import { adminProcedure } from '../../trpc/init';
import { recordAudit } from '../../services/audit';
import { updateUserRoleInput } from './update-user-role.schema';

export const updateUserRole = adminProcedure.input(updateUserRoleInput).mutation(async ({ ctx, input }) => {
  return ctx.services.prisma.$transaction(
    async (tx) => {
      const user = await tx.user.findUnique({ where: { id: input.userId } });
      if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });
      if (user.role === 'admin' && input.role !== 'admin') {
        // A disabled admin cannot sign in: only enabled admins keep the console administered.
        const admins = await tx.user.count({ where: { role: 'admin', disabledAt: null } });
        if (admins <= 1) {
          throw new TRPCError({
            code: 'PRECONDITION_FAILED',
            message: 'The last admin cannot lose the admin role.',
          });
        }
      }
      const updated = await tx.user.update({ where: { id: user.id }, data: { role: input.role } });
      await recordAudit(tx, {
        actor: ctx.user,
        action: 'user.role',
        target: user.email,
        before: { role: user.role },
        after: { role: updated.role },
        reason: input.reason ?? null,
        outcome: 'ok',
      });
      return { id: updated.id, email: updated.email, role: updated.role };
    },
    // Two admins disabling or demoting each other at once must not both pass the last-admin check.
    { isolationLevel: 'Serializable' },
  );
});
