/**
 * Lovage's figures on one broker (Redis, or a RabbitMQ vhost with state and results on Redis). The worker is
 * always a separate process started as users start it: `lovage worker -A bench/fixtures/bench-tasks.ts …`.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createApp } from '../packages/runtime/src/index';
import { deleteByPrefix } from './cleanup.mjs';
import {
  CONCURRENCY,
  Completions,
  drainTimes,
  emit,
  emitDrain,
  emitLatencies,
  HELD_ETA,
  LATENCY_N,
  LATENCY_RATE,
  measureEnqueue,
  N,
  openLoop,
  PROFILE_DIR,
  REDIS,
  RESULTS,
  rssMb,
  spawnProc,
  uid,
  type Proc,
} from './lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'apps/worker/bin/lovage.mjs');
const TASKS = 'bench/fixtures/bench-tasks.ts';
const silent = pino({ level: 'silent' });

export interface LovageTarget {
  /** `lovage` (Redis) or `lovage-amqp`. */
  system: string;
  broker: string;
  /** The state store's Redis when the broker cannot hold it (AMQP). */
  state?: string;
}

export interface DrainConfig {
  pool: 'async' | 'prefork';
  results: boolean;
  events: boolean;
}

/** One scenario's own queue and key prefix, a client app on them, and the cleanup of both. */
function scenario(target: LovageTarget, results: boolean) {
  const id = uid();
  const prefix = `bench-${id}:`;
  const queue = `bench-${id}`;
  const runId = `bench-${id}`;
  const app = createApp({
    broker: target.broker,
    backend: results ? RESULTS : null,
    state: target.state ?? null,
    defaultQueue: queue,
    resultExpires: 600,
    brokerTransportOptions: { globalKeyprefix: prefix },
    logger: silent,
  });
  const run = app.task('bench.run', (): number => 0);
  const workerEnv = (markChannel = ''): Record<string, string> => ({
    LOVAGE_BROKER_URL: target.broker,
    LOVAGE_RESULT_BACKEND: results ? RESULTS : '',
    LOVAGE_STATE_URL: target.state ?? '',
    LOVAGE_LOG_FORMAT: 'json',
    BENCH_QUEUE: queue,
    BENCH_PREFIX: prefix,
    BENCH_MARK_URL: REDIS,
    BENCH_MARK_CHANNEL: markChannel,
  });
  const spawnWorker = (cfg: DrainConfig, markChannel?: string): Proc =>
    spawnProc(
      process.execPath,
      [
        ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
        BIN,
        'worker',
        '-A',
        TASKS,
        '--pool',
        cfg.pool,
        '-c',
        String(cfg.pool === 'async' ? CONCURRENCY : 2),
        '-n',
        `${runId}@%h`,
        ...(cfg.events ? ['-E'] : []),
      ],
      workerEnv(markChannel),
      ROOT,
    );
  /** Sends n tasks in batches of 1000, ids `<runId>-<i>`. */
  const fill = async (n: number, options: { eta?: Date } = {}) => {
    for (let i = 0; i < n; i += 1000) {
      const size = Math.min(1000, n - i);
      await run.applyAsyncMany(
        Array.from({ length: size }, (_, j) => ({
          args: [],
          options: { ...options, taskId: `${runId}-${i + j}` },
        })),
      );
    }
  };
  const cleanup = async () => {
    await app.broker.purge(queue).catch(() => undefined);
    await app.close();
    await deleteByPrefix(REDIS, prefix, [0]);
    await deleteByPrefix(REDIS, `celery-task-meta-${runId}-`, [1]);
  };
  return { prefix, queue, runId, app, run, spawnWorker, fill, cleanup };
}

export async function lovageEnqueue(
  target: LovageTarget,
  rep: number,
  bulkSizes: readonly number[],
): Promise<void> {
  const s = scenario(target, true);
  try {
    await s.app.broker.ping();
    await measureEnqueue(
      target.system,
      rep,
      bulkSizes,
      () => s.run.delay(),
      (size) => s.run.delayMany(Array.from({ length: size }, () => [] as [])),
    );
  } finally {
    await s.cleanup();
  }
}

type Scenario = ReturnType<typeof scenario>;

/**
 * Runs `body` with a fresh scenario (results on) and an async worker that has already run a first task;
 * stops the worker and cleans up after.
 */
async function withWarmWorker(
  target: LovageTarget,
  body: (s: Scenario, worker: Proc) => Promise<void>,
): Promise<void> {
  const s = scenario(target, true);
  const worker = s.spawnWorker({ pool: 'async', results: true, events: false });
  try {
    await (await s.run.applyAsync([], { taskId: `${s.runId}-warm` })).get({ timeout: 60 });
    await body(s, worker);
  } finally {
    await worker.stop();
    await s.cleanup();
  }
}

export const drainLabel = (cfg: DrainConfig): string =>
  `${cfg.pool}_results_${cfg.results ? 'on' : 'off'}_events_${cfg.events ? 'on' : 'off'}`;

/** N tasks queued, then one worker spawned: startup, steady and total rates; returns the peak RSS (MB). */
export async function lovageDrain(
  target: LovageTarget,
  rep: number,
  cfg: DrainConfig,
): Promise<number | null> {
  const s = scenario(target, cfg.results);
  const channel = `${s.prefix}marks`;
  let worker: Proc | null = null;
  let completions: Completions | null = null;
  try {
    await s.fill(N);
    completions = cfg.results ? await Completions.results(s.runId) : await Completions.marks(channel);
    worker = s.spawnWorker(cfg, cfg.results ? '' : channel);
    await completions.waitFor(N);
    const params = {
      pool: cfg.pool,
      results: cfg.results,
      events: cfg.events,
      concurrency: cfg.pool === 'async' ? CONCURRENCY : 2,
    };
    emitDrain(target.system, drainLabel(cfg), rep, drainTimes(worker.spawnedAt, completions, N), params);
    return worker.takePeakRss();
  } finally {
    await worker?.stop();
    await completions?.close();
    await s.cleanup();
  }
}

/** Start and result latency at a steady rate, one async worker (-c CONCURRENCY), results on. */
export async function lovageLatency(target: LovageTarget, rep: number): Promise<void> {
  await withWarmWorker(target, async (s) => {
    const l = await openLoop(LATENCY_N, LATENCY_RATE, async (i) => {
      const r = await s.run.applyAsync([], { taskId: `${s.runId}-${i}` });
      return r.get({ timeout: 60 });
    });
    emitLatencies(target.system, { pool: 'async', concurrency: CONCURRENCY }, rep, l);
  });
}

/**
 * Worker RSS (async pool, results on): idle once its first task is done, and holding HELD_ETA tasks whose ETA
 * is an hour away (reserved from the queue and kept in the worker until due). Under load is taken from the
 * drain.
 */
export async function lovageMemory(target: LovageTarget, rep: number): Promise<void> {
  await withWarmWorker(target, async (s, worker) => {
    const pid = worker.child.pid!;
    await sleep(1000);
    emit({ system: target.system, figure: 'rss_idle', value: rssMb(pid) ?? NaN, unit: 'MB', rep, n: 1 });
    await s.fill(HELD_ETA, { eta: new Date(Date.now() + 3600_000) });
    const deadline = Date.now() + 120_000;
    while ((await s.app.broker.queueLength(s.queue)) > 0 && Date.now() < deadline) await sleep(200);
    await sleep(1000);
    emit({
      system: target.system,
      figure: 'rss_held_eta',
      value: rssMb(pid) ?? NaN,
      unit: 'MB',
      rep,
      n: HELD_ETA,
    });
  });
}
