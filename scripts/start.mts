/**
 * `npm start`: the whole stack on embedded defaults, for a first look.
 *
 *   - checks Redis (LOVAGE_BROKER_URL, default redis://127.0.0.1:6379/0) and says how to fix it when down;
 *   - a worker on the demo tasks (apps/worker/examples/tasks.ts) with task events on;
 *   - the monitor, which keeps the console's task-state index in Redis;
 *   - the console at http://localhost:3000 (PORT), its users and audit in an embedded PGlite under .lovage/
 *     (DATABASE_URL for a real PostgreSQL), built first when its sources changed;
 *   - a few demo tasks that succeed, fail and retry, so there is something to look at.
 *
 * Ctrl-C stops everything (warm shutdown of the worker).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const broker = process.env.LOVAGE_BROKER_URL ?? 'redis://127.0.0.1:6379/0';
const backend = process.env.LOVAGE_RESULT_BACKEND ?? 'redis://127.0.0.1:6379/1';
const port = process.env.PORT ?? '3000';
const lovage = path.join(root, 'apps/worker/bin/lovage.mjs');

async function checkRedis(): Promise<void> {
  const redis = new Redis(broker, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000)),
    ]);
  } catch (err) {
    process.stderr.write(
      `lovage: Redis is not reachable at ${broker.replace(/\/\/[^@/]*@/, '//****@')} (${(err as Error).message}).\n` +
        '  Start it with `redis-server` (or `docker compose up -d redis`), or point LOVAGE_BROKER_URL and\n' +
        '  LOVAGE_RESULT_BACKEND at a running Redis, then run `npm start` again.\n',
    );
    process.exit(1);
  } finally {
    redis.disconnect();
  }
}

const children: ChildProcess[] = [];
const grouped = new Set<ChildProcess>();

interface RunOptions {
  /** Ends by itself (the demo sender): its exit does not stop the others. */
  oneShot?: boolean;
  /**
   * Its own process group, stopped as a group: the console's build and next-server are its grandchildren.
   * Not for the worker: its pool children must hear only from it (a SIGTERM of their own would end them
   * mid-task), which is how the worker's warm shutdown finishes their tasks.
   */
  group?: boolean;
}

function run(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  opts: RunOptions = {},
): ChildProcess {
  const { oneShot = false, group = false } = opts;
  const child = spawn(args[0]!, args.slice(1), {
    cwd: root,
    env: { ...process.env, LOVAGE_BROKER_URL: broker, LOVAGE_RESULT_BACKEND: backend, PORT: port, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  const prefix = `${name.padEnd(7)}| `;
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) process.stdout.write(`${prefix}${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${prefix}exited (${signal ?? code})\n`);
    // A service that stops takes the others down; a one-shot (the demo sender) just ends.
    if (!stopping && !oneShot) stop(code ?? 1);
  });
  children.push(child);
  if (group) grouped.add(child);
  return child;
}

let stopping = false;
function stop(code = 0): void {
  if (stopping) return;
  stopping = true;
  const signal = (c: ChildProcess, sig: NodeJS.Signals) => {
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) return;
    if (!grouped.has(c)) return void c.kill(sig);
    try {
      process.kill(-c.pid, sig);
    } catch {
      c.kill(sig);
    }
  };
  for (const c of children) signal(c, 'SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children) signal(c, 'SIGKILL');
    process.exit(code);
  }, 15_000);
  timer.unref();
  void Promise.all(
    children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))),
  ).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

await checkRedis();

run('worker', [process.execPath, lovage, 'worker', '-A', 'apps/worker/examples/tasks.ts', '-E'], {
  LOVAGE_LOG_FORMAT: 'pretty',
});
run('monitor', [process.execPath, lovage, 'monitor', '--broker', broker], { LOVAGE_LOG_FORMAT: 'pretty' });
// Node directly, not through npm: a signal sent to npm does not reach the server it started.
run('web', [process.execPath, 'apps/web/scripts/start.mjs'], { NODE_ENV: 'production' }, { group: true });

// Something to look at: the demo tasks, once the worker is up.
setTimeout(() => {
  if (!stopping)
    run('demo', [process.execPath, '--import', 'tsx', 'apps/worker/examples/send.ts'], {}, { oneShot: true });
}, 4000).unref();

process.stdout.write(
  `\nLovage is starting: console http://localhost:${port} (sign-in instructions appear below), ` +
    'worker "lovage@<host>" on the demo tasks, and the monitor. Ctrl-C stops everything.\n\n',
);
