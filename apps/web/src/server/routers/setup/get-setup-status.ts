import 'server-only';
import { z } from 'zod';
import { hashSetupToken } from '../../auth/bootstrap';
import { publicProcedure } from '../../trpc/init';

/** Whether a setup link can still be redeemed (the setup page shows the form or says why not). */
export const getSetupStatus = publicProcedure
  .input(z.object({ token: z.string() }))
  .query(async ({ ctx, input }) => {
    const { prisma } = ctx.services;
    if ((await prisma.user.count()) > 0) return { state: 'done' as const };
    const row = await prisma.setupToken.findUnique({ where: { tokenHash: hashSetupToken(input.token) } });
    if (!row || row.usedAt || row.expiresAt <= new Date()) return { state: 'invalid' as const };
    return { state: 'open' as const };
  });
