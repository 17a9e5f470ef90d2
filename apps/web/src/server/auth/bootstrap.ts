import 'server-only';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { recordAudit } from '../services/audit';
import type { Services } from '../services/services';
import { createUserWithPassword, hashPassword } from '../services/users';

/** How long a printed setup link stays valid. */
export const SETUP_LINK_TTL_MS = 24 * 60 * 60 * 1000;

export function hashSetupToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export type Bootstrap =
  | { kind: 'admin-created'; email: string }
  | { kind: 'setup-link'; url: string }
  | { kind: 'ready'; users: number };

/**
 * The first admin: from LOVAGE_ADMIN_EMAIL + LOVAGE_ADMIN_PASSWORD when set (created if missing, never
 * overwritten), else, while no user exists, a one-time setup link (a fresh one each start; only its
 * SHA-256 is stored, and earlier unused links stop working).
 */
export async function bootstrapFirstAdmin(services: Services): Promise<Bootstrap> {
  const { prisma, env, auth } = services;
  if (env.admin) {
    const existing = await prisma.user.findUnique({ where: { email: env.admin.email } });
    if (!existing) {
      const passwordHash = await hashPassword(auth, env.admin.password);
      await prisma.$transaction(async (tx) => {
        const user = await createUserWithPassword(tx, {
          email: env.admin!.email,
          name: 'Admin',
          role: 'admin',
          passwordHash,
        });
        await recordAudit(tx, {
          actor: null,
          action: 'setup.admin',
          target: user.email,
          after: { email: user.email, role: user.role },
          outcome: 'ok',
          detail: { source: 'LOVAGE_ADMIN_EMAIL' },
        });
      });
      return { kind: 'admin-created', email: env.admin.email };
    }
  }
  const users = await prisma.user.count();
  if (users > 0) return { kind: 'ready', users };
  const token = randomBytes(32).toString('base64url');
  await prisma.$transaction([
    prisma.setupToken.deleteMany({}),
    prisma.setupToken.create({
      data: {
        id: randomUUID(),
        tokenHash: hashSetupToken(token),
        expiresAt: new Date(Date.now() + SETUP_LINK_TTL_MS),
      },
    }),
  ]);
  return { kind: 'setup-link', url: `${env.webUrl}/setup?token=${token}` };
}
