/**
 * Lifecycle hooks: one PostgreSQL pool per worker process, opened when the process starts and closed when it
 * stops (Celery users know this as worker_process_init / worker_process_shutdown). With `--pool prefork`
 * every child process runs the hooks, so no connection is ever shared across a fork; with `--pool threads`
 * every thread does; with `--pool async` the worker's own process does, once.
 *
 *   npx lovage worker -A apps/worker/examples/pg-pool.ts --pool prefork -c 2
 *
 * DATABASE_URL says where PostgreSQL is (default: postgres://postgres@127.0.0.1:5432/postgres).
 */
import { createApp } from '@lovage/runtime';
import pg from 'pg';

export const app = createApp({
  broker: process.env.LOVAGE_BROKER_URL ?? 'redis://127.0.0.1:6379/0',
  backend: process.env.LOVAGE_RESULT_BACKEND ?? 'redis://127.0.0.1:6379/1',
  defaultQueue: process.env.LOVAGE_QUEUE ?? 'celery',
  brokerTransportOptions: { globalKeyprefix: process.env.LOVAGE_KEY_PREFIX ?? '' },
});

let db: pg.Pool | null = null;

app.on('workerProcessInit', ({ pid }) => {
  db = new pg.Pool({
    connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    max: 2,
    // Shows in pg_stat_activity, so you can see which process holds which connection.
    application_name: `${process.env.LOVAGE_PG_APP_NAME ?? 'lovage-example'}:${pid}`,
  });
});

app.on('workerProcessShutdown', async () => {
  await db?.end();
  db = null;
});

/** Runs a query on this process's pool; returns which process and which database backend answered. */
export const whoami = app.task('pg.whoami', async () => {
  if (!db) throw new Error('no database pool: workerProcessInit did not run in this process');
  const { rows } = await db.query<{ backend: number; app: string }>(
    'select pg_backend_pid() as backend, current_setting($1) as app',
    ['application_name'],
  );
  return { pid: process.pid, backend: rows[0]!.backend, app: rows[0]!.app };
});

export default app;
