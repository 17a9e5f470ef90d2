/**
 * `npm run bench`: throughput figures on this machine, printed as JSON lines. Lovage and BullMQ are measured
 * in the same run against the same Redis, each under its own unique prefix, cleaned up afterwards.
 *
 *   enqueue    one `delay()` awaited at a time (latency-bound: one round trip per task)
 *   drain      N tasks already queued, consumed by one worker (async pool, concurrency 100), no-op task
 *   roundtrip  N tasks sent together and awaited through `get()` with results stored
 *
 * Then the monitor (bench/monitor.mts) and the pools (bench/pools.mts); BENCH_SKIP_BULLMQ, BENCH_SKIP_MONITOR
 * and BENCH_SKIP_POOLS=1 leave a part out.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createApp, Worker } from '../packages/runtime/src/index';
import { deleteByPrefix } from './cleanup.mjs';

const REDIS = process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379/0';
const N = Number(process.env.BENCH_N ?? 20_000);
const silent = pino({ level: 'silent' });

function emit(figure: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...figure, n: N, at: new Date().toISOString() })}\n`);
}

/** A run's keys: the broker's in DB 0, results in DB 1. */
const cleanup = (prefix: string) => deleteByPrefix(REDIS, prefix, [0, 1]);

async function lovage(): Promise<void> {
  const prefix = `bench-${randomUUID().slice(0, 8)}:`;
  const app = createApp({
    broker: REDIS,
    brokerTransportOptions: { globalKeyprefix: prefix },
    logger: silent,
  });
  const noop = app.task('bench.noop', () => null, { ignoreResult: true });

  let t = performance.now();
  for (let i = 0; i < N; i++) await noop.delay();
  let s = (performance.now() - t) / 1000;
  emit({ system: 'lovage', figure: 'enqueue_one_at_a_time', per_sec: Math.round(N / s) });

  const worker = new Worker(app, { concurrency: 100, logger: silent });
  let done = 0;
  const finished = new Promise<void>((resolve) =>
    worker.on('task-succeeded', () => {
      if (++done === N) resolve();
    }),
  );
  t = performance.now();
  await worker.start();
  await finished;
  s = (performance.now() - t) / 1000;
  emit({ system: 'lovage', figure: 'drain_one_worker', per_sec: Math.round(N / s), concurrency: 100 });
  await worker.stop();
  await app.close();

  // Round trip with results: send N, wait for every result over pub/sub.
  const app2 = createApp({
    broker: REDIS,
    backend: REDIS.replace(/\/\d+$/, '/1'),
    brokerTransportOptions: { globalKeyprefix: prefix },
    resultExpires: 60,
    logger: silent,
  });
  const add = app2.task('bench.add', (_ctx, a: number, b: number) => a + b);
  const w2 = new Worker(app2, { concurrency: 100, logger: silent });
  await w2.start();
  const M = Math.min(N, 10_000);
  t = performance.now();
  const results = await Promise.all(Array.from({ length: M }, (_, i) => add.delay(i, 1)));
  await Promise.all(results.map((r) => r.get({ timeout: 60 })));
  s = (performance.now() - t) / 1000;
  emit({ system: 'lovage', figure: 'roundtrip_with_results', per_sec: Math.round(M / s), tasks: M });
  await Promise.all(results.map((r) => r.forget()));
  await w2.stop();
  await app2.close();
  await cleanup(prefix);
}

async function bullmq(): Promise<void> {
  const prefix = `bench-bull-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(REDIS, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection, prefix });
  let t = performance.now();
  for (let i = 0; i < N; i++) await queue.add('noop', {}, { removeOnComplete: true });
  let s = (performance.now() - t) / 1000;
  emit({ system: 'bullmq', figure: 'enqueue_one_at_a_time', per_sec: Math.round(N / s) });

  let done = 0;
  let resolveDone!: () => void;
  const finished = new Promise<void>((r) => (resolveDone = r));
  t = performance.now();
  const worker = new BullWorker('bench', async () => null, {
    connection: new Redis(REDIS, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: 100,
  });
  worker.on('completed', () => {
    if (++done === N) resolveDone();
  });
  await finished;
  s = (performance.now() - t) / 1000;
  emit({ system: 'bullmq', figure: 'drain_one_worker', per_sec: Math.round(N / s), concurrency: 100 });
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  await cleanup(prefix);
}

await lovage();
if (process.env.BENCH_SKIP_BULLMQ !== '1') await bullmq();
if (process.env.BENCH_SKIP_MONITOR !== '1') await (await import('./monitor.mjs')).runMonitorBench();
if (process.env.BENCH_SKIP_POOLS !== '1') await (await import('./pools.mjs')).runPoolBench();
process.exit(0);
