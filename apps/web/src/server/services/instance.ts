import 'server-only';
import { env } from '../../env';
import { bootstrapFirstAdmin } from '../auth/bootstrap';
import { createServices, type Services } from './services';

const log = (line: string) => console.log(`[lovage-web] ${line}`);

/**
 * Says whether the broker and the state store answer, and how to fix it when one does not. Through the
 * runtime's own connections: their errors name the URL (password masked).
 */
async function checkQueue(services: Services): Promise<void> {
  const { app } = services.lovage;
  const checks: [string, () => Promise<void>][] = [
    ['broker', () => app.broker.ping(2000)],
    ['state store', () => app.state.ping(2000)],
  ];
  for (const [what, ping] of checks) {
    try {
      await ping();
      log(`${what}: answers.`);
    } catch (err) {
      const why = (err as Error).message.replace(/[^.!?]$/, '$&.');
      log(
        `${what}: ${why} The console starts anyway, but tasks, workers and settings need ` +
          'it. Start Redis (`redis-server --daemonize yes`, or `docker compose up -d redis`) or set ' +
          'LOVAGE_BROKER_URL / LOVAGE_STATE_URL.',
      );
    }
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
  await checkQueue(services);
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
