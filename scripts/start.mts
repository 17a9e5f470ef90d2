/**
 * `npm start`: the whole stack on embedded defaults, for a first look.
 *
 *   - checks Redis (LOVAGE_BROKER_URL, default redis://127.0.0.1:6379/0) and says how to fix it when down;
 *     with LOVAGE_BROKER_URL=amqp://… (RabbitMQ), checks RabbitMQ and the Redis of LOVAGE_RESULT_BACKEND,
 *     which then also holds the state store (revoked ids, queues, dead letters, settings, the task index);
 *   - a worker on the demo tasks (apps/worker/examples/tasks.ts) with task events on, running beat too (-B:
 *     the demo's schedule and those defined on the console's Schedules page);
 *   - the monitor, which keeps the console's task-state index in Redis;
 *   - the console at http://localhost:3000 (PORT), its users and audit in an embedded PGlite under .lovage/
 *     (DATABASE_URL for a real PostgreSQL), built first when its sources changed;
 *   - a few demo tasks that succeed, fail and retry, so there is something to look at.
 *
 * Ctrl-C stops everything warmly: the worker finishes its running tasks, the monitor folds what it received
 * (see services.mts). A second Ctrl-C stops at once (cold shutdown); a third kills what is left.
 *
 * Colours only on a terminal and without NO_COLOR (https://no-color.org): piped or redirected, the output is
 * plain text.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, maskUrl } from '@lovage/runtime';
import { checkUrl } from '@lovage/runtime/urls';
import { Redis } from 'ioredis';
import { Services } from './services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const broker = process.env.LOVAGE_BROKER_URL ?? 'redis://127.0.0.1:6379/0';
const backend = process.env.LOVAGE_RESULT_BACKEND ?? 'redis://127.0.0.1:6379/1';
const port = process.env.PORT ?? '3000';
const lovage = path.join(root, 'apps/worker/bin/lovage.mjs');
// The services write into pipes, so they cannot see the terminal themselves: FORCE_COLOR or NO_COLOR tells
// them (pino-pretty and Next.js both read these), unless the user already chose.
const colour =
  process.env.FORCE_COLOR === undefined && process.env.NO_COLOR === undefined
    ? process.stdout.isTTY && process.env.TERM !== 'dumb'
      ? { FORCE_COLOR: '1' }
      : { NO_COLOR: '1' }
    : {};

/** RabbitMQ cannot hold results or Lovage's records: then the result backend's Redis holds both. */
const onRabbit = checkUrl('state', broker) !== null;
const redisUrl = onRabbit ? backend : broker;

async function checkRabbit(): Promise<void> {
  const app = createApp({ broker, backend });
  try {
    await app.broker.ping(3000);
  } catch (err) {
    process.stderr.write(
      `lovage: RabbitMQ is not reachable at ${maskUrl(broker)} (${(err as Error).message}).\n` +
        '  Start it (or `docker compose up -d rabbitmq`), or point LOVAGE_BROKER_URL at a running broker,\n' +
        '  then run `npm start` again.\n',
    );
    process.exit(1);
  } finally {
    await app.close().catch(() => undefined);
  }
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000)),
    ]);
  } catch (err) {
    process.stderr.write(
      `lovage: Redis is not reachable at ${maskUrl(redisUrl)} (${(err as Error).message}).\n` +
        '  Start it with `redis-server` (or `docker compose up -d redis`), or point ' +
        `${onRabbit ? 'LOVAGE_RESULT_BACKEND' : 'LOVAGE_BROKER_URL and\n  LOVAGE_RESULT_BACKEND'} at a running Redis, then run \`npm start\` again.\n`,
    );
    process.exit(1);
  } finally {
    redis.disconnect();
  }
}

const services = new Services(root, {
  ...process.env,
  ...colour,
  LOVAGE_BROKER_URL: broker,
  LOVAGE_RESULT_BACKEND: backend,
  PORT: port,
});
services.handleSignals();
const run = services.run.bind(services);

await checkRedis();
if (onRabbit) await checkRabbit();

run('worker', [process.execPath, lovage, 'worker', '-A', 'apps/worker/examples/tasks.ts', '-E', '-B'], {
  LOVAGE_LOG_FORMAT: 'pretty',
});
run('monitor', [process.execPath, lovage, 'monitor', '--broker', broker], { LOVAGE_LOG_FORMAT: 'pretty' });
// Node directly, not through npm: a signal sent to npm does not reach the server it started.
run('web', [process.execPath, 'apps/web/scripts/start.mjs'], { NODE_ENV: 'production' }, { group: true });

// Something to look at: the demo tasks, once the worker is up.
setTimeout(() => {
  if (!services.stopping)
    run('demo', [process.execPath, '--import', 'tsx', 'apps/worker/examples/send.ts'], {}, { oneShot: true });
}, 4000).unref();

process.stdout.write(
  `\nLovage is starting: console http://localhost:${port} (sign-in instructions appear below), ` +
    `worker "lovage@<host>" on the demo tasks with beat, and the monitor${onRabbit ? ` (broker: RabbitMQ at ${maskUrl(broker)}; results and state: ${maskUrl(backend)})` : ''}. Ctrl-C stops everything.\n\n`,
);
