/**
 * Monitor benchmark: how many events a second the task index folds.
 *
 *   monitor-fold      N realistic task events (received, started, succeeded for N/3 tasks, interleaved as a
 *                     worker running 100 tasks at a time emits them) applied with `TaskIndex.apply` in
 *                     batches of 1000, two in flight, as the Monitor does under load
 *   monitor-e2e       the same kind of events sent by WorkerEventPublishers (task.multi over Redis pub/sub)
 *                     and folded by a running Monitor: first publish to the last event applied
 *   monitor-burst     BENCH_MONITOR_BURST tasks (default 200000; 0 skips it): their events published unpaced
 *                     by two publisher processes at once, each result stored as a worker would: how many
 *                     tasks the index misses or holds in the wrong state once the monitor has caught up (and
 *                     repaired what it lost from the result backend), and what the monitor said it lost
 *
 * Standalone: `npx tsx bench/monitor.mts` (BENCH_MONITOR_N events, default 100000). Keys live under a unique
 * prefix and are deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import {
  createResultBackend,
  eventCommon,
  makeEvent,
  Monitor,
  TaskIndex,
  WorkerEventPublisher,
  type CeleryEvent,
  type TaskEventType,
} from '../packages/runtime/src/index';
import { RedisBroker } from '../packages/runtime/src/adapters/redis';
import { deleteByPrefix } from './cleanup.mjs';

const REDIS = process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379/0';
/** The result backend of the burst: the broker's Redis, database 1. */
const BACKEND = REDIS.replace(/\/\d*$/, '/1');
const N = Number(process.env.BENCH_MONITOR_N ?? 100_000);
const BURST = Number(process.env.BENCH_MONITOR_BURST ?? 200_000);
const BATCH = 1000;
const NAMES = Array.from({ length: 10 }, (_, i) => `bench.task${i}`);
const WORKERS = ['bench-w1@host', 'bench-w2@host'];
const QUEUES = ['default', 'emails', 'reports'];

function emit(figure: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...figure, at: new Date().toISOString() })}\n`);
}

interface Planned {
  type: TaskEventType;
  task: number;
  at: number;
  fields: Record<string, unknown>;
}

/** The events of N/3 tasks, in the order a worker with 100 tasks in flight sends them. */
function plan(n: number, runId: string): Planned[] {
  const tasks = Math.ceil(n / 3);
  const t0 = Date.now() / 1000;
  const dt = 0.0005;
  const out: Planned[] = [];
  for (let i = 0; i < tasks; i++) {
    const uuid = `${runId}-${i}`;
    const name = NAMES[i % NAMES.length]!;
    out.push({
      type: 'task-received',
      task: i,
      at: t0 + i * dt,
      fields: {
        uuid,
        name,
        args: `(${i}, 'customer-${i % 977}')`,
        kwargs: "{'priority': 'normal'}",
        root_id: uuid,
        parent_id: null,
        retries: 0,
        eta: null,
        expires: null,
        queue: QUEUES[i % QUEUES.length],
      },
    });
    out.push({ type: 'task-started', task: i, at: t0 + (i + 10) * dt, fields: { uuid } });
    out.push({
      type: 'task-succeeded',
      task: i,
      at: t0 + (i + 100) * dt,
      fields: { uuid, result: `{'ok': True, 'n': ${i}}`, runtime: 0.05 },
    });
  }
  out.sort((a, b) => a.at - b.at);
  return out.slice(0, n);
}

function toEvents(planned: Planned[]): CeleryEvent[] {
  let clock = 0;
  return planned.map((p) =>
    makeEvent(p.type, eventCommon(WORKERS[p.task % WORKERS.length]!, ++clock), {
      ...p.fields,
      timestamp: p.at,
    }),
  );
}

const cleanup = (prefix: string) => deleteByPrefix(REDIS, prefix);

async function fold(): Promise<void> {
  const prefix = `bench-monitor-${randomUUID().slice(0, 8)}:`;
  const index = new TaskIndex(REDIS, { prefix });
  const events = toEvents(plan(N, randomUUID().slice(0, 8)));
  try {
    // Warm up the script cache and the connection.
    await index.apply(events.slice(0, 10));
    const t = performance.now();
    // Two batches in flight, as the Monitor runs them: one is prepared while Redis folds the other.
    let next = 0;
    const lane = async () => {
      while (next < events.length) {
        const batch = events.slice(next, next + BATCH);
        next += BATCH;
        await index.apply(batch);
      }
    };
    await Promise.all([lane(), lane()]);
    const s = (performance.now() - t) / 1000;
    const counts = await index.counts();
    emit({
      bench: 'monitor-fold',
      events_per_s: Math.round(events.length / s),
      events: events.length,
      tasks: Math.ceil(N / 3),
      batch: BATCH,
      seconds: Math.round(s * 1000) / 1000,
      succeeded: counts.SUCCESS ?? 0,
    });
  } finally {
    await index.close();
    await cleanup(prefix);
  }
}

async function endToEnd(): Promise<void> {
  const prefix = `bench-monitor-${randomUUID().slice(0, 8)}:`;
  const broker = new RedisBroker(REDIS, { globalKeyprefix: prefix });
  const index = new TaskIndex(REDIS, { prefix });
  const monitor = new Monitor({ broker, index }, { wakeWorkers: false });
  const stats = () => ({ active: 0, processed: 0 });
  const publishers = WORKERS.map(
    (hostname) => new WorkerEventPublisher(broker, { hostname, taskEvents: true, stats }),
  );
  const planned = plan(N, randomUUID().slice(0, 8));
  try {
    await monitor.start();
    const t = performance.now();
    // Paced so that no more than ~20k events wait in Redis for the subscriber (whose output buffer is bounded).
    for (let i = 0; i < planned.length; i += BATCH) {
      for (const p of planned.slice(i, i + BATCH)) {
        publishers[p.task % publishers.length]!.task(p.type, { ...p.fields, timestamp: p.at });
      }
      await Promise.all(publishers.map((p) => p.flush()));
      while (i + BATCH - monitor.stats.processed > 20_000) await new Promise((r) => setTimeout(r, 5));
    }
    const deadline = Date.now() + 120_000;
    while (monitor.stats.processed < planned.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const s = (performance.now() - t) / 1000;
    const st = monitor.stats;
    emit({
      bench: 'monitor-e2e',
      events_per_s: Math.round(st.processed / s),
      events: planned.length,
      applied: st.processed,
      malformed: st.malformed,
      seconds: Math.round(s * 1000) / 1000,
    });
  } finally {
    await monitor.stop();
    await index.close();
    await broker.close();
    await cleanup(prefix);
  }
}

/**
 * One burst publisher (a child process): its tasks' events unpaced, each task's result stored just before
 * its task-succeeded is sent, as a worker does.
 */
async function publishBurst(spec: { prefix: string; runId: string; from: number; to: number; host: string }) {
  const broker = new RedisBroker(REDIS, { globalKeyprefix: spec.prefix });
  const backend = new Redis(BACKEND);
  const publisher = new WorkerEventPublisher(broker, {
    hostname: spec.host,
    taskEvents: true,
    stats: () => ({ active: 0, processed: 0 }),
  });
  await backend.ping();
  process.send?.('ready');
  await new Promise((resolve) => process.once('message', resolve));
  for (let i = spec.from; i < spec.to; i += 100) {
    const results = backend.pipeline();
    const done = new Date().toISOString().replace('Z', '');
    for (let j = i; j < Math.min(i + 100, spec.to); j++) {
      const uuid = `${spec.runId}-${j}`;
      const meta = { status: 'SUCCESS', result: { ok: true, n: j }, traceback: null, children: [] };
      results.set(
        `celery-task-meta-${uuid}`,
        JSON.stringify({ ...meta, date_done: done, task_id: uuid }),
        'EX',
        3600,
      );
    }
    void results.exec();
    for (let j = i; j < Math.min(i + 100, spec.to); j++) {
      const uuid = `${spec.runId}-${j}`;
      publisher.task('task-received', { uuid, name: NAMES[j % NAMES.length], args: `(${j},)` });
      publisher.task('task-started', { uuid });
      publisher.task('task-succeeded', { uuid, result: `{'ok': True, 'n': ${j}}`, runtime: 0.05 });
    }
    await publisher.flush();
  }
  // Batches the publisher sent by itself are still in flight: a round trip on the same connection ends them.
  await Promise.all([broker.ping(600_000), backend.ping()]);
  await broker.close();
  backend.disconnect();
}

async function burst(): Promise<void> {
  const prefix = `bench-monitor-${randomUUID().slice(0, 8)}:`;
  const runId = `bench-burst-${randomUUID().slice(0, 8)}`;
  const broker = new RedisBroker(REDIS, { globalKeyprefix: prefix });
  const index = new TaskIndex(REDIS, { prefix });
  const results = createResultBackend(BACKEND);
  const monitor = new Monitor({ broker, index }, { wakeWorkers: false, resultBackend: results });
  const half = Math.ceil(BURST / 2);
  const children = WORKERS.map((host, k) =>
    spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: {
        ...process.env,
        BENCH_MONITOR_PUBLISH: JSON.stringify({
          prefix,
          runId,
          from: k * half,
          to: Math.min(BURST, (k + 1) * half),
          host,
        }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const exited = children.map((c) => new Promise((r) => c.once('exit', r)));
  try {
    await Promise.all(children.map((c) => new Promise((r) => c.once('message', r))));
    await monitor.start();
    const t = performance.now();
    for (const c of children) c.send('go');
    await Promise.all(exited);
    const published = (performance.now() - t) / 1000;
    // Caught up: everything received applied, any repair finished, and nothing new for a second.
    let last = -1;
    while (monitor.stats.processed !== last || monitor.stats.pending > 0 || monitor.stats.repairing) {
      last = monitor.stats.processed;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const s = (performance.now() - t) / 1000;
    const st = monitor.stats;
    if (process.env.BENCH_DEBUG) console.error(st);
    const counts = await index.counts();
    const reader = new Redis(REDIS);
    const indexed = await reader.zcard(`${index.base}by-time`);
    reader.disconnect();
    emit({
      bench: 'monitor-burst',
      tasks: BURST,
      events: BURST * 3,
      publish_events_per_s: Math.round((BURST * 3) / published),
      applied: st.processed,
      missing_from_index: BURST - indexed,
      not_success: BURST - (counts.SUCCESS ?? 0),
      dropped_events: st.dropped,
      subscriber_cuts: st.subscriberCuts,
      repaired: st.repaired,
      repair_added: st.repairAdded,
      seconds: Math.round(s * 10) / 10,
    });
  } finally {
    for (const c of children) c.kill();
    await monitor.stop();
    await results.close();
    await index.close();
    await broker.close();
    await cleanup(prefix);
    await deleteByPrefix(REDIS, `celery-task-meta-${runId}`, [1]);
  }
}

export async function runMonitorBench(): Promise<void> {
  await fold();
  await endToEnd();
  if (BURST > 0) await burst();
}

if (process.env.BENCH_MONITOR_PUBLISH) {
  await publishBurst(JSON.parse(process.env.BENCH_MONITOR_PUBLISH));
  process.exit(0);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.env.BENCH_MONITOR_ONLY_BURST === '1') await burst();
  else await runMonitorBench();
  process.exit(0);
}
