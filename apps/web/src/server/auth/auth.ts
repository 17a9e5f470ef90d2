import 'server-only';
import { randomUUID } from 'node:crypto';
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import type { PrismaClient } from '../db';
import { CLIENT_ADDRESS_HEADER, clientAddressResolver, withClientAddress } from './client-address';

export interface AuthOptions {
  prisma: PrismaClient;
  secret: string;
  /** The console's public URL. */
  baseURL: string;
  trustedOrigins: string[];
  /** Proxies (IPs, CIDR ranges) whose `X-Forwarded-For` entries are believed; see client-address.ts. */
  trustedProxies: string[];
  /** Sign-in attempts allowed per client IP per minute (5). */
  signInPerMinute?: number;
  /** Failed sign-ins allowed per account in `accountWindowSeconds` (10), whatever address they come from. */
  failuresPerAccount?: number;
  accountWindowSeconds?: number;
}

const SIGN_IN = '/sign-in/email';

/** What a disabled user is told after giving the right password. */
export const DISABLED_MESSAGE = 'This account is disabled. An admin can enable it again.';

/**
 * Failed sign-ins per account, kept in the rate-limit table beside better-auth's per-IP counters. The per-IP
 * limit stops spraying one password over many accounts; this one stops guessing one account's password from
 * many addresses. Its price: anyone who knows an e-mail can lock that account (admins too) for the window.
 */
function accountLimiter(prisma: PrismaClient, max: number, windowSeconds: number) {
  const key = (email: string) => `sign-in-failures:${email.trim().toLowerCase()}`;
  const windowMs = windowSeconds * 1000;
  return {
    async blocked(email: string): Promise<boolean> {
      const row = await prisma.rateLimit.findUnique({ where: { key: key(email) } });
      return !!row && row.count >= max && Number(row.lastRequest) > Date.now() - windowMs;
    },
    async failed(email: string): Promise<void> {
      const now = BigInt(Date.now());
      const cutoff = BigInt(Date.now() - windowMs);
      // One statement: concurrent failures all count, and a window that passed starts again at 1.
      await prisma.$executeRaw`
        INSERT INTO rate_limits (id, key, count, last_request) VALUES (${randomUUID()}, ${key(email)}, 1, ${now})
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN rate_limits.last_request < ${cutoff} THEN 1 ELSE rate_limits.count + 1 END,
          last_request = ${now}`;
    },
    async succeeded(email: string): Promise<void> {
      await prisma.rateLimit.deleteMany({ where: { key: key(email) } });
    },
  };
}

function bodyEmail(body: unknown): string | null {
  const email = (body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.trim() !== '' ? email : null;
}

/** Minimum password length for console accounts. */
export const MIN_PASSWORD_LENGTH = 12;

/**
 * better-auth, configured for the console: e-mail and password only (scrypt hashes), no public sign-up
 * (admins create accounts), the role as a user field nobody can set through the auth API, sessions in
 * HTTP-only cookies (Secure on https), origin checks on every auth POST and a per-IP limit on sign-in
 * attempts kept in the database so every console process shares it. The IP is the one client-address.ts
 * resolves; `handler` puts it in a header of its own before better-auth looks.
 */
export function createAuth(options: AuthOptions) {
  const resolveClient = clientAddressResolver(options.trustedProxies);
  const secure = options.baseURL.startsWith('https://');
  const accounts = accountLimiter(
    options.prisma,
    options.failuresPerAccount ?? 10,
    options.accountWindowSeconds ?? 15 * 60,
  );
  const auth = betterAuth({
    appName: 'Lovage',
    baseURL: options.baseURL,
    basePath: '/api/auth',
    secret: options.secret,
    database: prismaAdapter(options.prisma, { provider: 'postgresql' }),
    trustedOrigins: options.trustedOrigins,
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: 256,
    },
    user: {
      additionalFields: {
        role: { type: 'string', required: false, defaultValue: 'viewer', input: false },
      },
    },
    session: {
      expiresIn: 60 * 60 * 24 * 7,
      updateAge: 60 * 60 * 24,
    },
    rateLimit: {
      enabled: true,
      storage: 'database',
      window: 60,
      max: 100,
      customRules: {
        '/sign-in/email': { window: 60, max: options.signInPerMinute ?? 5 },
      },
    },
    advanced: {
      // Explicit: better-auth skips these checks when NODE_ENV is test; the console's tests check them.
      disableOriginCheck: false,
      disableCSRFCheck: false,
      useSecureCookies: secure,
      cookiePrefix: 'lovage',
      // Resolved already: better-auth's own reading of X-Forwarded-For believes a single value from anyone.
      ipAddress: { ipAddressHeaders: [CLIENT_ADDRESS_HEADER] },
    },
    databaseHooks: {
      session: {
        create: {
          // Runs once the password was right: a disabled account gets no session (and learns why; someone
          // without the password learns nothing, the same 401 as for a wrong one).
          before: async (session) => {
            const user = await options.prisma.user.findUnique({
              where: { id: session.userId },
              select: { disabledAt: true },
            });
            if (user?.disabledAt) {
              throw new APIError('FORBIDDEN', { message: DISABLED_MESSAGE });
            }
          },
        },
      },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== SIGN_IN) return;
        const email = bodyEmail(ctx.body);
        if (email && (await accounts.blocked(email))) {
          throw new APIError('TOO_MANY_REQUESTS', {
            message: 'Too many failed sign-ins for this account. Try again in a few minutes.',
          });
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== SIGN_IN) return;
        const email = bodyEmail(ctx.body);
        if (!email) return;
        const returned: unknown = ctx.context.returned;
        if (returned instanceof APIError) {
          if (returned.statusCode === 401) await accounts.failed(email);
        } else {
          await accounts.succeeded(email);
        }
      }),
    },
    telemetry: { enabled: false },
  });
  return { ...auth, handler: (request: Request) => auth.handler(withClientAddress(request, resolveClient)) };
}

export type Auth = ReturnType<typeof createAuth>;
