/**
 * The console's environment: the only place in apps/web that reads `process.env`, validated once.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | 3000 | port of `next start` / `next dev` |
 * | `LOVAGE_WEB_URL` | `http://localhost:$PORT` | the console's public URL: cookies, origin checks, setup link |
 * | `LOVAGE_TRUSTED_ORIGINS` | — | more origins allowed to send mutations, comma-separated |
 * | `LOVAGE_BROKER_URL` | `redis://127.0.0.1:6379/0` | the broker (queues, remote control) |
 * | `LOVAGE_RESULT_BACKEND` | `redis://127.0.0.1:6379/1` | the result backend |
 * | `LOVAGE_STATE_URL` | the broker's URL when it is Redis, else `LOVAGE_RESULT_BACKEND` | the state store: revoked ids, queue registry, dead letters, settings, task index |
 * | `LOVAGE_KEY_PREFIX` | `''` | the broker's `globalKeyprefix`; the state store's records live under it too |
 * | `DATABASE_URL` | — | a PostgreSQL URL; without it, the embedded PGlite in `PGLITE_DIR` |
 * | `LOVAGE_DATA_DIR` | `./.lovage` | the console's data folder |
 * | `PGLITE_DIR` | `$LOVAGE_DATA_DIR/pglite` | the embedded database (one process per folder) |
 * | `LOVAGE_AUTH_SECRET` | generated into `$LOVAGE_DATA_DIR/auth-secret` | signs session cookies (32+ chars) |
 * | `LOVAGE_ADMIN_EMAIL`, `LOVAGE_ADMIN_PASSWORD` | — | the first admin, created at start when missing |
 * | `LOVAGE_TRUSTED_PROXIES` | — | proxy IPs/CIDRs whose X-Forwarded-For is believed (sign-in rate limit per client); none: the TCP peer |
 * | `LOVAGE_MIGRATIONS_DIR` | the repo's `prisma/migrations` | where the migrations are |
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { urlSchema } from '@lovage/runtime/urls';
import { z } from 'zod';
import { invalidProxyEntries } from './server/auth/client-address';

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  LOVAGE_WEB_URL: z.url().optional(),
  LOVAGE_TRUSTED_ORIGINS: list,
  LOVAGE_BROKER_URL: urlSchema('broker').default('redis://127.0.0.1:6379/0'),
  LOVAGE_RESULT_BACKEND: urlSchema('backend').default('redis://127.0.0.1:6379/1'),
  LOVAGE_STATE_URL: urlSchema('state').optional(),
  LOVAGE_KEY_PREFIX: z.string().default(''),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgresql:// URL')
    .optional(),
  LOVAGE_DATA_DIR: z.string().default('.lovage'),
  PGLITE_DIR: z.string().optional(),
  LOVAGE_AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOVAGE_ADMIN_EMAIL: z.email().optional(),
  LOVAGE_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  LOVAGE_TRUSTED_PROXIES: list,
  LOVAGE_MIGRATIONS_DIR: z.string().optional(),
});

export interface ConsoleEnv {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** The console's public URL, no trailing slash. */
  webUrl: string;
  /** Origins allowed to send mutations and auth requests. */
  trustedOrigins: string[];
  brokerUrl: string;
  resultBackendUrl: string;
  /** Undefined: the app's default (the broker's URL when it is Redis, else the result backend's). */
  stateUrl: string | undefined;
  keyPrefix: string;
  databaseUrl: string | undefined;
  dataDir: string;
  pgliteDir: string;
  authSecret: string | undefined;
  admin: { email: string; password: string } | null;
  trustedProxies: string[];
  migrationsDir: string;
}

export class EnvError extends Error {
  override name = 'EnvError';
}

function findMigrations(explicit: string | undefined): string {
  if (explicit) return path.resolve(/* turbopackIgnore: true */ explicit);
  // `npm start` runs in apps/web; a Docker image or a script may run from the repo root.
  const candidates = [
    path.resolve(/* turbopackIgnore: true */ '../../prisma/migrations'),
    path.resolve(/* turbopackIgnore: true */ 'prisma/migrations'),
  ];
  return candidates.find((c) => existsSync(/* turbopackIgnore: true */ c)) ?? candidates[0]!;
}

/** Reads and checks the environment; throws an EnvError naming the first bad variable. */
export function readEnv(source: Record<string, string | undefined> = process.env): ConsoleEnv {
  const blankless = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const res = schema.safeParse(blankless);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    throw new EnvError(`invalid environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  const e = res.data;
  if ((e.LOVAGE_ADMIN_EMAIL === undefined) !== (e.LOVAGE_ADMIN_PASSWORD === undefined)) {
    throw new EnvError('set both LOVAGE_ADMIN_EMAIL and LOVAGE_ADMIN_PASSWORD, or neither');
  }
  const badProxies = invalidProxyEntries(e.LOVAGE_TRUSTED_PROXIES);
  if (badProxies.length > 0) {
    throw new EnvError(
      `invalid environment variable LOVAGE_TRUSTED_PROXIES: ${badProxies.join(', ')} is not an IP address or CIDR range`,
    );
  }
  const webUrl = (e.LOVAGE_WEB_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const origin = new URL(webUrl).origin;
  const local = [`http://localhost:${e.PORT}`, `http://127.0.0.1:${e.PORT}`];
  const trustedOrigins = [
    ...new Set([origin, ...(e.LOVAGE_WEB_URL ? [] : local), ...e.LOVAGE_TRUSTED_ORIGINS]),
  ];
  const dataDir = path.resolve(/* turbopackIgnore: true */ e.LOVAGE_DATA_DIR);
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    webUrl,
    trustedOrigins,
    brokerUrl: e.LOVAGE_BROKER_URL,
    resultBackendUrl: e.LOVAGE_RESULT_BACKEND,
    stateUrl: e.LOVAGE_STATE_URL,
    keyPrefix: e.LOVAGE_KEY_PREFIX,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    pgliteDir: path.resolve(/* turbopackIgnore: true */ e.PGLITE_DIR ?? path.join(dataDir, 'pglite')),
    authSecret: e.LOVAGE_AUTH_SECRET,
    admin:
      e.LOVAGE_ADMIN_EMAIL && e.LOVAGE_ADMIN_PASSWORD
        ? { email: e.LOVAGE_ADMIN_EMAIL.toLowerCase(), password: e.LOVAGE_ADMIN_PASSWORD }
        : null,
    trustedProxies: e.LOVAGE_TRUSTED_PROXIES,
    migrationsDir: findMigrations(e.LOVAGE_MIGRATIONS_DIR),
  };
}

let cached: ConsoleEnv | null = null;

/** The process's environment, read once. */
export function env(): ConsoleEnv {
  return (cached ??= readEnv());
}
