import 'server-only';
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import type { Auth } from '../auth/auth';
import type { Role } from '../auth/roles';
import type { Prisma, PrismaClient } from '../db';

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  /** From `hashPassword`, computed before any transaction opens (scrypt takes a while). */
  passwordHash: string;
}

/** better-auth's scrypt hash, the same its sign-in verifies. */
export async function hashPassword(auth: Auth, password: string): Promise<string> {
  const ctx = await auth.$context;
  return ctx.password.hash(password);
}

/**
 * Creates an account with an e-mail and password (better-auth's `credential` provider). Public sign-up is
 * off, so this, called by admins and at first start, is the only way in. A taken e-mail is a CONFLICT.
 */
export async function createUserWithPassword(
  db: PrismaClient | Prisma.TransactionClient,
  input: NewUser,
): Promise<{ id: string; email: string; name: string; role: Role }> {
  const email = input.email.trim().toLowerCase();
  const existing = await db.user.findUnique({ where: { email }, select: { id: true } });
  if (existing)
    throw new TRPCError({ code: 'CONFLICT', message: `A user with e-mail ${email} already exists.` });
  const id = randomUUID();
  const now = new Date();
  await db.user.create({
    data: {
      id,
      email,
      name: input.name.trim(),
      role: input.role,
      emailVerified: false,
      createdAt: now,
      updatedAt: now,
      accounts: {
        create: {
          id: randomUUID(),
          accountId: id,
          providerId: 'credential',
          password: input.passwordHash,
          createdAt: now,
          updatedAt: now,
        },
      },
    },
  });
  return { id, email, name: input.name.trim(), role: input.role };
}
