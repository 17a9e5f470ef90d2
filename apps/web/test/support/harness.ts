/**
 * A console for tests: the run's broker (`TEST_BROKER`, `TEST_BROKER_URL`; see @lovage/runtime/testing) and
 * the real Redis (results, the state store) under a unique key prefix, and either an embedded PGlite in a temporary
 * folder or a fresh database on the machine's PostgreSQL (`lovage_test_<random>`, dropped afterwards).
 * Users sign in through better-auth's real HTTP handler; procedures are called with `createCaller` and the
 * session cookie it set, as a browser would send them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, Worker, type App } from '@lovage/runtime';
import { resolveTestBroker } from '@lovage/runtime/testing';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import pg from 'pg';
import { readEnv } from '../../src/env';
import type { Role } from '../../src/server/auth/roles';
import { createCaller } from '../../src/server/trpc/caller';
import { createServices, type Services } from '../../src/server/services/services';
import { createUserWithPassword, hashPassword } from '../../src/server/services/users';

export type DbKind = 'pglite' | 'postgres';
export const DB_KINDS: DbKind[] = ['pglite', 'postgres'];

export const ORIGIN = 'http://console.test';
const testBroker = resolveTestBroker(process.env);
/** The broker under test: the console's and the worker side's. */
export const BROKER_URL = testBroker.url;
export const BROKER_KIND = testBroker.kind;
/** The machine's Redis: the console's result backend and state store, and `Harness.redis`. */
export const REDIS_URL = testBroker.stateUrl;
export const PG_ADMIN_URL = process.env.LOVAGE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const MIGRATIONS = fileURLToPath(new URL('../../../../prisma/migrations', import.meta.url));

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
}

export interface Harness {
  kind: DbKind;
  services: Services;
  prefix: string;
  /** A connection to the state store's Redis for checks (keys under `prefix` only; the broker's too on Redis). */
  redis: Redis;
  createUser(role: Role, email?: string): Promise<TestUser>;
  /** Signs in through better-auth's handler; returns the Cookie header a browser would send. */
  signIn(user: Pick<TestUser, 'email' | 'password'>, ip?: string): Promise<string>;
  /** Raw sign-in response (status, headers), for auth tests. */
  signInResponse(
    email: string,
    password: string,
    init?: { ip?: string; origin?: string | null },
  ): Promise<Response>;
  /** A caller with the user's session cookie and the console's Origin (or `origin`, or none with null). */
  callerFor(
    user: TestUser | null,
    init?: { origin?: string | null; cookie?: string },
  ): Promise<Awaited<ReturnType<typeof createCaller>>>;
  close(): Promise<void>;
}

async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `lovage_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function startHarness(
  kind: DbKind,
  options: {
    signInPerMinute?: number;
    failuresPerAccount?: number;
    /** The console's broker, backend and state URL instead of the run's (an unreachable Redis, say). */
    redisUrl?: string;
  } = {},
): Promise<Harness> {
  const { redisUrl, ...limits } = options;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lovage-web-test-'));
  const prefix = `test-${randomUUID()}:`;
  const db = kind === 'postgres' ? await createTestDatabase() : null;
  const env = readEnv({
    NODE_ENV: 'test',
    LOVAGE_WEB_URL: ORIGIN,
    LOVAGE_BROKER_URL: redisUrl ?? BROKER_URL,
    LOVAGE_RESULT_BACKEND: redisUrl ?? REDIS_URL,
    LOVAGE_STATE_URL: redisUrl ?? REDIS_URL,
    LOVAGE_KEY_PREFIX: prefix,
    LOVAGE_DATA_DIR: dataDir,
    LOVAGE_AUTH_SECRET: randomBytes(32).toString('hex'),
    LOVAGE_MIGRATIONS_DIR: MIGRATIONS,
    ...(db ? { DATABASE_URL: db.url } : {}),
  });
  const services = await createServices(env, limits);
  const redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  let n = 0;
  const cookies = new Map<string, string>();

  const signInResponse: Harness['signInResponse'] = (email, password, init = {}) => {
    const headers = new Headers({
      'content-type': 'application/json',
      'x-forwarded-for': init.ip ?? '10.0.0.1',
    });
    if (init.origin !== null) headers.set('origin', init.origin ?? ORIGIN);
    return services.auth.handler(
      new Request(`${ORIGIN}/api/auth/sign-in/email`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ email, password }),
      }),
    );
  };

  const signIn: Harness['signIn'] = async (user, ip) => {
    const res = await signInResponse(user.email, user.password, {
      ip: ip ?? `10.1.${n++ % 250}.${(n * 7) % 250}`,
    });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
    return res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  };

  return {
    kind,
    services,
    prefix,
    redis,
    async createUser(role, email) {
      const password = `pw-${randomBytes(9).toString('base64url')}`;
      const user = await createUserWithPassword(services.prisma, {
        email: email ?? `${role}-${randomBytes(4).toString('hex')}@example.test`,
        name: role,
        role,
        passwordHash: await hashPassword(services.auth, password),
      });
      return { id: user.id, email: user.email, password, role };
    },
    signIn,
    signInResponse,
    async callerFor(user, init = {}) {
      const headers = new Headers();
      let cookie = init.cookie;
      if (cookie === undefined && user) {
        cookie = cookies.get(user.id) ?? (await signIn(user));
        cookies.set(user.id, cookie);
      }
      if (cookie) headers.set('cookie', cookie);
      if (init.origin !== null) headers.set('origin', init.origin ?? ORIGIN);
      return createCaller(services, headers);
    },
    async close() {
      await services.close();
      await deleteKeys(redis, prefix).catch(() => undefined);
      redis.disconnect();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const silentLogger = pino({ level: 'silent' });

export interface WorkerSide {
  /** An app as a worker process would build it, on the harness's Redis and key prefix. */
  app: App;
  /** A started worker on `queues`, with a unique node name: remote control and dead letters reach it. */
  worker: Worker;
  /** Stops the worker (again is fine) and closes the app. */
  close(): Promise<void>;
}

/** The other side of the console: a real worker the console's procedures act on. */
export async function startWorkerSide(
  h: Pick<Harness, 'prefix'>,
  opts: { queues: string[]; concurrency: number; register?: (app: App) => void; taskEvents?: boolean },
): Promise<WorkerSide> {
  const app = createApp({
    broker: BROKER_URL,
    state: REDIS_URL,
    brokerTransportOptions: { globalKeyprefix: h.prefix },
    logger: silentLogger,
  });
  opts.register?.(app);
  const worker = new Worker(app, {
    queues: opts.queues,
    concurrency: opts.concurrency,
    taskEvents: opts.taskEvents,
    hostname: `w-${randomUUID().slice(0, 8)}@test`,
    logger: silentLogger,
  });
  await worker.start();
  return {
    app,
    worker,
    async close() {
      await worker.stop();
      await app.close();
    },
  };
}
