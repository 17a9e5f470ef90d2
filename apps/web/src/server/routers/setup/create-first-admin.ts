import 'server-only';
import { TRPCError } from '@trpc/server';
import { hashSetupToken } from '../../auth/bootstrap';
import { publicProcedure } from '../../trpc/init';
import { recordAudit } from '../../services/audit';
import { createUserWithPassword, hashPassword } from '../../services/users';
import { createFirstAdminInput } from './create-first-admin.schema';

/** Redeems the one-time setup link printed on first start: creates the first admin, once. */
export const createFirstAdmin = publicProcedure
  .input(createFirstAdminInput)
  .mutation(async ({ ctx, input }) => {
    const { prisma, auth } = ctx.services;
    const passwordHash = await hashPassword(auth, input.password);
    return prisma.$transaction(async (tx) => {
      // Claiming the token first serialises two tabs redeeming the same link.
      const claimed = await tx.setupToken.updateMany({
        where: { tokenHash: hashSetupToken(input.token), usedAt: null, expiresAt: { gt: new Date() } },
        data: { usedAt: new Date() },
      });
      if (claimed.count !== 1) {
        throw new TRPCError({
          code: 'FORBIDDEN',
          message: 'This setup link is used, expired or wrong. Restart the console for a new one.',
        });
      }
      if ((await tx.user.count()) > 0) {
        throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'An account exists already: sign in.' });
      }
      const user = await createUserWithPassword(tx, { ...input, role: 'admin', passwordHash });
      await recordAudit(tx, {
        actor: { id: user.id, email: user.email },
        action: 'setup.admin',
        target: user.email,
        after: { email: user.email, name: user.name, role: user.role },
        outcome: 'ok',
        detail: { source: 'setup link' },
      });
      return { email: user.email };
    });
  });
