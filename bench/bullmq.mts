/**
 * BullMQ 6.7's figures, the peer of each Lovage one on the same Redis: enqueue with `add` and `addBulk`, drain
 * by a separate worker process (bench/fixtures/bullmq-worker.mjs, concurrency as Lovage's async pool), start
 * and result latency through QueueEvents (how BullMQ clients see results), worker RSS.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteByPrefix } from './cleanup.mjs';
import {
  CONCURRENCY,
  Completions,
  drainTimes,
  emit,
  emitDrain,
  emitLatencies,
  LATENCY_N,
  LATENCY_RATE,
  measureEnqueue,
  N,
  openLoop,
  REDIS,
  rssMb,
  spawnProc,
  uid,
  type Proc,
} from './lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKER = path.join(ROOT, 'bench/fixtures/bullmq-worker.mjs');
const SYSTEM = 'bullmq';
const NAME = 'bench';

function scenario() {
  const prefix = `bench-bull-${uid()}`;
  const connection = new Redis(REDIS, { maxRetriesPerRequest: null });
  const queue = new Queue(NAME, { connection, prefix });
  const events = () =>
    new QueueEvents(NAME, { connection: new Redis(REDIS, { maxRetriesPerRequest: null }), prefix });
  const spawnWorker = (markChannel = ''): Proc =>
    spawnProc(process.execPath, [WORKER], {
      BENCH_REDIS: REDIS,
      BENCH_PREFIX: prefix,
      BENCH_QUEUE: NAME,
      BENCH_CONCURRENCY: String(CONCURRENCY),
      BENCH_MARK_URL: REDIS,
      BENCH_MARK_CHANNEL: markChannel,
    });
  const fill = async (n: number) => {
    for (let i = 0; i < n; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'run', data: {} })));
    }
  };
  const cleanup = async () => {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
    await deleteByPrefix(REDIS, prefix, [0]);
  };
  return { prefix, queue, events, spawnWorker, fill, cleanup };
}

export async function bullEnqueue(rep: number, bulkSizes: readonly number[]): Promise<void> {
  const s = scenario();
  try {
    await s.queue.waitUntilReady();
    await measureEnqueue(
      SYSTEM,
      rep,
      bulkSizes,
      () => s.queue.add('run', {}),
      (size) => s.queue.addBulk(Array.from({ length: size }, () => ({ name: 'run', data: {} }))),
    );
  } finally {
    await s.cleanup();
  }
}

/** Results on: completed jobs kept, seen through QueueEvents; off: removed, seen through completion marks. */
export async function bullDrain(rep: number, results: boolean): Promise<number | null> {
  const s = scenario();
  const channel = `${s.prefix}:marks`;
  let worker: Proc | null = null;
  let completions: Completions | null = null;
  try {
    await s.fill(N);
    if (results) {
      const qe = s.events();
      await qe.waitUntilReady();
      completions = new Completions(() => qe.close());
      const c = completions;
      qe.on('completed', () => c.add(1));
    } else {
      completions = await Completions.marks(channel);
    }
    worker = s.spawnWorker(results ? '' : channel);
    await completions.waitFor(N);
    const label = `async_results_${results ? 'on' : 'off'}_events_off`;
    emitDrain(SYSTEM, label, rep, drainTimes(worker.spawnedAt, completions, N), {
      results,
      concurrency: CONCURRENCY,
    });
    return worker.takePeakRss();
  } finally {
    await worker?.stop();
    await completions?.close();
    await s.cleanup();
  }
}

/** Start and result latency at a steady rate; also the worker's idle RSS (after warm-up). */
export async function bullLatency(rep: number): Promise<void> {
  const s = scenario();
  const qe = s.events();
  const waiting = new Map<string, (v: number) => void>();
  qe.on('completed', ({ jobId, returnvalue }) => {
    waiting.get(jobId)?.(Number(returnvalue));
    waiting.delete(jobId);
  });
  const worker = s.spawnWorker();
  try {
    await qe.waitUntilReady();
    const send = async (id: string) => {
      const done = new Promise<number>((resolve) => waiting.set(id, resolve));
      await s.queue.add('run', {}, { jobId: id });
      return done;
    };
    await send('warm');
    await sleep(1000);
    emit({
      system: SYSTEM,
      figure: 'rss_idle',
      value: rssMb(worker.child.pid!) ?? NaN,
      unit: 'MB',
      rep,
      n: 1,
    });
    const l = await openLoop(LATENCY_N, LATENCY_RATE, (i) => send(`l${i}`));
    emitLatencies(SYSTEM, { concurrency: CONCURRENCY }, rep, l);
  } finally {
    await worker.stop();
    await qe.close();
    await s.cleanup();
  }
}
