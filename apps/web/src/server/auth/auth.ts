import 'server-only';
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import type { PrismaClient } from '../db';

export interface AuthOptions {
  prisma: PrismaClient;
  secret: string;
  /** The console's public URL. */
  baseURL: string;
  trustedOrigins: string[];
  trustedProxies: string[];
  /** Sign-in attempts allowed per client IP per minute (5). */
  signInPerMinute?: number;
}

/** Minimum password length for console accounts. */
export const MIN_PASSWORD_LENGTH = 12;

/**
 * better-auth, configured for the console: e-mail and password only (scrypt hashes), no public sign-up
 * (admins create accounts), the role as a user field nobody can set through the auth API, sessions in
 * HTTP-only cookies (Secure on https), origin checks on every auth POST and a per-IP limit on sign-in
 * attempts kept in the database so every console process shares it.
 */
export function createAuth(options: AuthOptions) {
  const secure = options.baseURL.startsWith('https://');
  return betterAuth({
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
      ipAddress: { trustedProxies: options.trustedProxies },
    },
    telemetry: { enabled: false },
  });
}

export type Auth = ReturnType<typeof createAuth>;
