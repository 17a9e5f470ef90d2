import 'server-only';
import { Redis } from 'ioredis';
import { maskUrl } from '../runtime';
import { env } from '../../env';
import { bootstrapFirstAdmin } from '../auth/bootstrap';
import { createServices, type Services } from './services';

const log = (line: string) => console.log(`[lovage-web] ${line}`);

/** Says whether Redis answers, and how to fix it when it does not. */
async function checkRedis(url: string): Promise<void> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    log(`Redis: ${maskUrl(url)} answers.`);
  } catch (err) {
    log(
      `Redis is NOT reachable at ${maskUrl(url)} (${(err as Error).message}). The console starts anyway, but tasks, ` +
        'workers and settings need it. Start Redis (`redis-server --daemonize yes`, or `docker compose up -d redis`) ' +
        'or set LOVAGE_BROKER_URL / LOVAGE_RESULT_BACKEND.',
    );
  } finally {
    r.disconnect();
  }
}

async function boot(): Promise<Services> {
  const e = env();
  const services = await createServices(e);
  log(
    `database: ${services.database.kind === 'pglite' ? `embedded PGlite in ${services.database.location}` : services.database.location}` +
      (services.database.applied.length
        ? ` (applied migrations: ${services.database.applied.join(', ')})`
        : ''),
  );
  const first = await bootstrapFirstAdmin(services);
  if (first.kind === 'admin-created')
    log(`created the admin ${first.email} (LOVAGE_ADMIN_EMAIL); sign in at ${e.webUrl}/sign-in`);
  if (first.kind === 'setup-link') {
    log(
      'no user exists yet. Create the first admin with this one-time link (valid 24 h, a new one each start):',
    );
    log(`  ${first.url}`);
    log('  or start with LOVAGE_ADMIN_EMAIL and LOVAGE_ADMIN_PASSWORD set.');
  }
  if (first.kind === 'ready') log(`${first.users} user(s); sign in at ${e.webUrl}/sign-in`);
  await checkRedis(e.brokerUrl);
  // One stop, however many signals arrive while it closes (npm start's SIGTERM reaches this process from
  // its group and again from scripts/start.mjs): a second one must not kill it mid-close (exit 1).
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void services.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return services;
}

const holder = globalThis as typeof globalThis & { __lovageServices?: Promise<Services> };

/**
 * The process's services, started once (kept on globalThis so dev-server reloads reuse them: a second
 * PGlite on the same folder would be refused).
 */
export function getServices(): Promise<Services> {
  holder.__lovageServices ??= boot().catch((err: unknown) => {
    holder.__lovageServices = undefined;
    console.error(`[lovage-web] could not start: ${(err as Error).message}`);
    throw err;
  });
  return holder.__lovageServices;
}
