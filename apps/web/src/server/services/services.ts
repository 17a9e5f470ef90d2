import 'server-only';
import type { ConsoleEnv } from '../../env';
import { createAuth, type Auth } from '../auth/auth';
import { openDatabase, type Database, type PrismaClient } from '../db';
import { LovageClients } from './lovage';
import { loadAuthSecret } from './secret';

/** Everything a request needs, created once per process (and once per test file). */
export interface Services {
  env: ConsoleEnv;
  database: Database;
  prisma: PrismaClient;
  auth: Auth;
  lovage: LovageClients;
  close(): Promise<void>;
}

export interface ServicesOverrides {
  /** Sign-in attempts per IP per minute (tests lower it). */
  signInPerMinute?: number;
  /** Failed sign-ins per account per 15 minutes (tests lower it). */
  failuresPerAccount?: number;
}

export async function createServices(env: ConsoleEnv, overrides: ServicesOverrides = {}): Promise<Services> {
  const database = await openDatabase({
    url: env.databaseUrl,
    pgliteDir: env.pgliteDir,
    migrationsDir: env.migrationsDir,
  });
  try {
    const auth = createAuth({
      prisma: database.prisma,
      secret: loadAuthSecret(env.authSecret, env.dataDir),
      baseURL: env.webUrl,
      trustedOrigins: env.trustedOrigins,
      trustedProxies: env.trustedProxies,
      signInPerMinute: overrides.signInPerMinute,
      failuresPerAccount: overrides.failuresPerAccount,
    });
    const lovage = new LovageClients({
      brokerUrl: env.brokerUrl,
      resultBackendUrl: env.resultBackendUrl,
      stateUrl: env.stateUrl,
      keyPrefix: env.keyPrefix,
    });
    let closing: Promise<void> | null = null;
    return {
      env,
      database,
      prisma: database.prisma,
      auth,
      lovage,
      close: () =>
        (closing ??= (async () => {
          await lovage.close();
          await database.close();
        })()),
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
