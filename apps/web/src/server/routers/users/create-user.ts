import 'server-only';
import { adminProcedure } from '../../trpc/init';
import { recordAudit } from '../../services/audit';
import { createUserWithPassword, hashPassword } from '../../services/users';
import { createUserInput } from './create-user.schema';

export const createUser = adminProcedure.input(createUserInput).mutation(async ({ ctx, input }) => {
  const { prisma, auth } = ctx.services;
  const passwordHash = await hashPassword(auth, input.password);
  const user = await prisma.$transaction(async (tx) => {
    const created = await createUserWithPassword(tx, { ...input, passwordHash });
    await recordAudit(tx, {
      actor: ctx.user,
      action: 'user.create',
      target: created.email,
      after: { email: created.email, name: created.name, role: created.role },
      outcome: 'ok',
    });
    return created;
  });
  return user;
});
