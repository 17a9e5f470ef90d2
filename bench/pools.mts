/**
 * Pool benchmark: the same worker draining the same queue with each `--pool`, at the default concurrency
 * (the CPU count) and prefetch multiplier (4).
 *
 *   pool-drain-noop   N no-op tasks: the cost each pool adds per task (IPC for prefork, postMessage for
 *                     threads, nothing for async)
 *   pool-drain-cpu    M tasks of ~12 ms of CPU each (this machine): prefork and threads use every core, the async pool one
 *
 * Standalone: `npx tsx bench/pools.mts` (BENCH_POOL_N no-op tasks, default 5000; BENCH_POOL_CPU_N, 200).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createPool, type PoolKind } from '../apps/worker/src/pools/index';
import { Worker } from '../packages/runtime/src/index';
import { deleteByPrefix } from './cleanup.mjs';

const REDIS = process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379/0';
const N = Number(process.env.BENCH_POOL_N ?? 5000);
const CPU_N = Number(process.env.BENCH_POOL_CPU_N ?? 200);
const CPU_ROUNDS = 10_000;
const TASKS = fileURLToPath(new URL('./fixtures/pool-tasks.ts', import.meta.url));
const KINDS: PoolKind[] = ['prefork', 'threads', 'async'];

export async function runPoolBench(): Promise<void> {
  const prefix = `bench-pools-${randomUUID().slice(0, 8)}:`;
  process.env.BENCH_POOL_PREFIX = prefix;
  process.env.BENCH_REDIS = REDIS;
  const { app } = (await import(pathToFileURL(TASKS).href)) as typeof import('./fixtures/pool-tasks');
  const silent = pino({ level: 'silent' });
  const concurrency = os.availableParallelism();

  for (const kind of KINDS) {
    for (const [figure, task, n, args] of [
      ['pool-drain-noop', 'bench.noop', N, []],
      ['pool-drain-cpu', 'bench.cpu', CPU_N, [CPU_ROUNDS]],
    ] as const) {
      for (let i = 0; i < n; i++) await app.sendTask(task, [...args]);
      const pool = createPool(kind, {
        app,
        appModule: TASKS,
        size: concurrency,
        hostname: 'bench',
        logger: silent,
      });
      const worker = new Worker(app, { pool, concurrency, logger: silent, hostname: `bench-${kind}@bench` });
      let done = 0;
      const finished = new Promise<void>((resolve) =>
        worker.on('task-succeeded', () => {
          if (++done === n) resolve();
        }),
      );
      // Executors start with the worker; time from the first task taken, not from the spawns.
      await worker.start();
      const t = performance.now();
      await finished;
      const s = (performance.now() - t) / 1000;
      await worker.stop();
      const line = {
        bench: figure,
        pool: kind,
        concurrency,
        tasks: n,
        per_sec: Math.round(n / s),
        seconds: +s.toFixed(3),
      };
      process.stdout.write(`${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`);
    }
  }
  await app.close();
  await deleteByPrefix(REDIS, prefix);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runPoolBench();
  process.exit(0);
}
