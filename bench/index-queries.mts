/**
 * Task-index benchmark: what the console's lists cost at scale, and whether they stall Redis for everyone.
 *
 *   index-seed     BENCH_INDEX_N tasks (default 1,000,000) folded into a fresh index as the monitor folds
 *                  them (TaskIndex.apply, batches of 1000 events, two in flight): 10 task names, 3 queues,
 *                  2 workers, 80% SUCCESS, 10% FAILURE, 5% STARTED, 5% RECEIVED; events per second and the
 *                  Redis memory per task (used_memory before and after, divided by the tasks)
 *   index-query    each filter (none, one field, two and three fields, a time range) on page 1 and on a deep
 *                  page, BENCH_INDEX_REPS times (default 20), 50 tasks a page: p50, p95 and max in ms
 *   index-stall    while those queries run, another connection PINGs every 2 ms: the slowest and the p99
 *                  PING, which is what every worker sharing the Redis waits at worst
 *
 * Standalone: `npx tsx bench/index-queries.mts`. Keys live under a unique prefix and are deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import {
  eventCommon,
  makeEvent,
  TaskIndex,
  type CeleryEvent,
  type TaskFilter,
} from '../packages/runtime/src/index';
import { deleteByPrefix } from './cleanup.mjs';

const REDIS = process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379/0';
const N = Number(process.env.BENCH_INDEX_N ?? 1_000_000);
const REPS = Number(process.env.BENCH_INDEX_REPS ?? 20);
const PER_PAGE = 50;
const BATCH = 1000;
const NAMES = Array.from({ length: 10 }, (_, i) => `bench.task${i}`);
const QUEUES = ['default', 'emails', 'reports'];
const WORKERS = ['bench-w1@host', 'bench-w2@host'];

function emit(figure: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...figure, at: new Date().toISOString() })}\n`);
}

/** The final state of task i: 80% SUCCESS, 10% FAILURE, 5% STARTED, 5% RECEIVED. */
function stateOf(i: number): 'SUCCESS' | 'FAILURE' | 'STARTED' | 'RECEIVED' {
  const r = i % 20;
  return r < 16 ? 'SUCCESS' : r < 18 ? 'FAILURE' : r === 18 ? 'STARTED' : 'RECEIVED';
}

/** Task i's events, over the last `span` seconds (task i at its place in it). */
function eventsOf(i: number, runId: string, t0: number, dt: number, clock: { n: number }): CeleryEvent[] {
  const uuid = `${runId}-${i}`;
  const worker = WORKERS[i % WORKERS.length]!;
  const at = t0 + i * dt;
  const ev = (type: Parameters<typeof makeEvent>[0], t: number, fields: Record<string, unknown>) =>
    makeEvent(type, eventCommon(worker, ++clock.n), { uuid, timestamp: t, ...fields });
  const out = [
    ev('task-received', at, {
      name: NAMES[i % NAMES.length],
      args: `(${i},)`,
      kwargs: '{}',
      root_id: uuid,
      parent_id: null,
      retries: 0,
      queue: QUEUES[i % QUEUES.length],
    }),
  ];
  const state = stateOf(i);
  if (state !== 'RECEIVED') out.push(ev('task-started', at + dt / 4, {}));
  if (state === 'SUCCESS') out.push(ev('task-succeeded', at + dt / 2, { result: `${i}`, runtime: 0.01 }));
  if (state === 'FAILURE') {
    out.push(ev('task-failed', at + dt / 2, { exception: "ValueError('bad')", traceback: 'Traceback…' }));
  }
  return out;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const round = (v: number) => Math.round(v * 100) / 100;

export async function runIndexBench(): Promise<void> {
  const prefix = `bench-index-${randomUUID().slice(0, 8)}:`;
  const index = new TaskIndex(REDIS, { prefix, maxTasks: Math.max(N, 1_000_000) });
  const redis = new Redis(REDIS);
  const probe = new Redis(REDIS);
  try {
    // Seed: tasks spread over the last day, as a day of production would leave them.
    const memBefore = await usedMemory(redis);
    const runId = randomUUID().slice(0, 8);
    const span = 24 * 3600;
    const t0 = Date.now() / 1000 - span;
    const dt = span / N;
    const clock = { n: 0 };
    const seedStart = performance.now();
    let events = 0;
    let next = 0;
    const lane = async () => {
      while (next < N) {
        const from = next;
        next += Math.ceil(BATCH / 3);
        const batch: CeleryEvent[] = [];
        for (let i = from; i < Math.min(next, N); i++) batch.push(...eventsOf(i, runId, t0, dt, clock));
        events += batch.length;
        await index.apply(batch);
      }
    };
    await Promise.all([lane(), lane()]);
    const seedS = (performance.now() - seedStart) / 1000;
    // The monitor trims on start and every minute; the first one marks the pair indexes complete.
    await index.trim();
    const memAfter = await usedMemory(redis);
    emit({
      bench: 'index-seed',
      tasks: N,
      events,
      events_per_s: Math.round(events / seedS),
      seconds: round(seedS),
      bytes_per_task: Math.round((memAfter - memBefore) / N),
    });

    // The PING probe: every 2 ms on its own connection, for as long as the queries run.
    const pings: number[] = [];
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        const t = performance.now();
        await probe.ping();
        pings.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    const now = Date.now();
    const filters: [string, TaskFilter][] = [
      ['none', {}],
      ['state', { state: 'SUCCESS' }],
      ['name', { name: NAMES[3]! }],
      ['state+name', { state: 'FAILURE', name: NAMES[6]! }],
      ['state+queue', { state: 'SUCCESS', queue: QUEUES[1]! }],
      ['state+worker', { state: 'FAILURE', worker: WORKERS[0]! }],
      ['state+name+queue', { state: 'SUCCESS', name: NAMES[2]!, queue: QUEUES[2]! }],
      ['name+last-hour', { name: NAMES[5]!, from: now - 3600_000, to: now }],
    ];
    for (const [label, filter] of filters) {
      const first = await index.list(filter, { offset: 0, limit: PER_PAGE });
      const lastPage = Math.max(0, Math.ceil(first.total / PER_PAGE) - 1);
      for (const [page, offset] of [
        ['first', 0],
        ['last', lastPage * PER_PAGE],
      ] as const) {
        const times: number[] = [];
        let total = 0;
        let exact = true;
        for (let r = 0; r < REPS; r++) {
          const t = performance.now();
          const res = await index.list(filter, { offset, limit: PER_PAGE });
          times.push(performance.now() - t);
          total = res.total;
          exact = (res as { exact?: boolean }).exact ?? true;
        }
        times.sort((a, b) => a - b);
        emit({
          bench: 'index-query',
          filter: label,
          page,
          offset,
          total,
          exact,
          p50_ms: round(quantile(times, 0.5)),
          p95_ms: round(quantile(times, 0.95)),
          max_ms: round(times.at(-1) ?? 0),
          tasks: N,
        });
      }
    }
    probing = false;
    await probeLoop;
    pings.sort((a, b) => a - b);
    emit({
      bench: 'index-stall',
      pings: pings.length,
      ping_p50_ms: round(quantile(pings, 0.5)),
      ping_p99_ms: round(quantile(pings, 0.99)),
      ping_max_ms: round(pings.at(-1) ?? 0),
      tasks: N,
    });
  } finally {
    await index.close();
    redis.disconnect();
    probe.disconnect();
    await deleteByPrefix(REDIS, prefix);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runIndexBench();
  process.exit(0);
}
