/**
 * `lovage worker --metrics-port` and `lovage monitor --metrics-port` as Prometheus sees them: both CLIs run as
 * child processes on the run's broker, tasks that succeed, fail and retry go through a prefork worker, and
 * each `/metrics` is scraped over HTTP and parsed (prom2javascript) to check names, labels, values and
 * histogram buckets. Each test has its own key prefix, queues and worker host name; queues are purged and
 * state keys removed afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createApp, type App } from '@lovage/runtime';
import { Redis } from 'ioredis';
import {
  getMetricsFromStream,
  type PromData,
  type PromHistogramData,
  type PromMetrics,
} from 'prom2javascript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { BACKEND, BROKER, STATE, TEST_BROKER } from './support/broker';
import { exitOf, fixture, runCli, type Cli } from './support/cli';
import { deleteByPattern } from './support/redis-keys';

/** celery-exporter's buckets (Python prometheus_client's defaults), as `le` labels. */
const BUCKETS = [
  '0.005',
  '0.01',
  '0.025',
  '0.05',
  '0.075',
  '0.1',
  '0.25',
  '0.5',
  '0.75',
  '1',
  '2.5',
  '5',
  '7.5',
  '10',
  '+Inf',
];

let redis: Redis;
let backendRedis: Redis;
let prefix: string;
let queue: string;
/** A queue no worker consumes: its length stays what was sent. */
let idleQueue: string;
/** The worker's node name's host part: the `hostname` label. */
let host: string;
const apps: App[] = [];
const taskIds: string[] = [];

beforeAll(() => {
  redis = new Redis(STATE);
  backendRedis = new Redis(BACKEND);
});

afterAll(async () => {
  await Promise.all([redis.quit(), backendRedis.quit()]);
});

beforeEach(() => {
  const id = randomUUID().slice(0, 8);
  prefix = `lovage-metrics-test-${id}:`;
  queue = `metrics-${id}`;
  idleQueue = `metrics-idle-${id}`;
  host = `metrics-${id}`;
});

afterEach(async () => {
  await Promise.all(
    apps.splice(0).map(async (a) => {
      for (const q of [queue, idleQueue]) await a.broker.purge(q).catch(() => undefined);
      await a.close();
    }),
  );
  await deleteByPattern(redis, `${prefix}*`);
  for (const id of taskIds.splice(0)) await backendRedis.del(`celery-task-meta-${id}`);
});

/** The client: sends task-sent events, as `taskSendSentEvent` (Celery's task_send_sent_event) does. */
function senderApp(): App {
  const app = createApp({
    broker: BROKER,
    backend: BACKEND,
    state: STATE,
    defaultQueue: queue,
    taskSendSentEvent: true,
    brokerTransportOptions: { globalKeyprefix: prefix },
  });
  apps.push(app);
  return app;
}

const testEnv = () => ({ LOVAGE_TEST_PREFIX: prefix, LOVAGE_TEST_QUEUE: queue });

function startWorker(ctx: TestContext, extra: string[] = [], env: Record<string, string> = {}): Cli {
  return runCli(
    ctx,
    [
      'worker',
      '-A',
      fixture('metrics-app.ts'),
      '-P',
      'prefork',
      '-c',
      '2',
      '-Q',
      queue,
      '-E',
      '-n',
      `w@${host}`,
      ...extra,
    ],
    { ...testEnv(), ...env },
  );
}

/** The port a CLI logged for its metrics endpoint. */
async function metricsPort(cli: Cli): Promise<number> {
  const line = await cli.waitForLog(/^metrics served at /, 20_000);
  return line.port as number;
}

async function scrape(port: number): Promise<PromMetrics> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return getMetricsFromStream(Readable.from([await res.text()]));
}

function matches(labels: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

/** A counter's or gauge's value for the samples matching `labels` (summed), undefined when none match. */
function value(m: PromMetrics, name: string, labels: Record<string, string> = {}): number | undefined {
  const samples = (m[name]?.data ?? []) as PromData[];
  const found = samples.filter((s) => matches(s.labels, labels));
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

function histogram(
  m: PromMetrics,
  name: string,
  labels: Record<string, string>,
): PromHistogramData | undefined {
  return ((m[name]?.data ?? []) as PromHistogramData[]).find((s) => matches(s.labels, labels));
}

/** Scrapes until `ready` holds (events reach the monitor a little after the tasks end). */
async function scrapeUntil(port: number, ready: (m: PromMetrics) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await scrape(port);
    if (ready(m) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Three successes, two failures, one task retried once: waits for every outcome. */
async function runTasks(app: App) {
  const ok = await Promise.all([1, 2, 3].map(() => app.sendTask('metrics.ok', [], {}, { queue })));
  const boom = await Promise.all([1, 2].map(() => app.sendTask('metrics.boom', [], {}, { queue })));
  const flaky = await app.sendTask('metrics.flaky', [], {}, { queue });
  taskIds.push(...[...ok, ...boom, flaky].map((r) => r.id));
  for (const r of ok) expect(await r.get({ timeout: 20 })).toBe('ok');
  for (const r of boom) await expect(r.get({ timeout: 20 })).rejects.toThrow(/boom/);
  expect(await flaky.get({ timeout: 20 })).toBe('second time');
}

/** What both endpoints must count for `runTasks` on this worker: celery-exporter's names and labels. */
function expectTaskFigures(m: PromMetrics) {
  const ok = { name: 'metrics.ok', hostname: host, queue_name: queue };
  const boom = { name: 'metrics.boom', hostname: host, queue_name: queue };
  const flaky = { name: 'metrics.flaky', hostname: host, queue_name: queue };
  expect(value(m, 'celery_task_received_total', ok)).toBe(3);
  expect(value(m, 'celery_task_started_total', ok)).toBe(3);
  expect(value(m, 'celery_task_succeeded_total', ok)).toBe(3);
  // The other counters of a label set show at 0 from its first event, as celery-exporter's do.
  expect(value(m, 'celery_task_failed_total', { ...ok, exception: '' })).toBe(0);
  expect(value(m, 'celery_task_revoked_total', ok)).toBe(0);
  expect(value(m, 'celery_task_failed_total', { ...boom, exception: 'BoomError' })).toBe(2);
  expect(value(m, 'celery_task_succeeded_total', boom)).toBe(0);
  // A retried task is received and started again under its id.
  expect(value(m, 'celery_task_received_total', flaky)).toBe(2);
  expect(value(m, 'celery_task_started_total', flaky)).toBe(2);
  expect(value(m, 'celery_task_retried_total', flaky)).toBe(1);
  expect(value(m, 'celery_task_succeeded_total', flaky)).toBe(1);

  expect(m.celery_task_runtime?.type).toBe('histogram');
  const runtime = histogram(m, 'celery_task_runtime', ok)!;
  expect(Object.keys(runtime.buckets).sort()).toEqual([...BUCKETS].sort());
  expect(runtime.count).toBe(3);
  expect(runtime.buckets['+Inf']).toBe(3);
  // Each run sleeps 20 ms: none is under 5 ms, and the buckets are cumulative.
  expect(runtime.buckets['0.005']).toBe(0);
  expect(runtime.sum).toBeGreaterThanOrEqual(0.06);
  const counts = BUCKETS.map((le) => runtime.buckets[le]!);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  // Runtime is observed on success only (celery-exporter): the failures have none.
  expect(histogram(m, 'celery_task_runtime', boom)).toBeUndefined();

  const wait = histogram(m, 'lovage_task_wait_seconds', ok)!;
  expect(wait.count).toBe(3);
  expect(wait.buckets['+Inf']).toBe(3);
  expect(histogram(m, 'lovage_task_wait_seconds', flaky)?.count).toBe(2);
}

describe('lovage worker --metrics-port', () => {
  it('serves its own figures, as the prefork parent sees them', async (ctx) => {
    const worker = startWorker(ctx, ['--metrics-port', '0']);
    const port = await metricsPort(worker);
    await worker.waitForLog('worker ready', 20_000);

    await runTasks(senderApp());
    expectTaskFigures(await scrape(port));
    // Counts are handed to prom-client at each scrape: a second one finds the same totals.
    const m = await scrape(port);
    expectTaskFigures(m);

    expect(value(m, 'celery_worker_up', { hostname: host })).toBe(1);
    expect(value(m, 'celery_worker_tasks_active', { hostname: host })).toBe(0);
    expect(value(m, 'lovage_worker_pool_size', { hostname: host })).toBe(2);
    expect(value(m, 'lovage_worker_prefetch_limit', { hostname: host })).toBe(8);
    expect(value(m, 'lovage_worker_prefetch_held', { hostname: host })).toBe(0);
    // A worker sends no tasks of its own here: the counter exists, with no series.
    expect(m.celery_task_sent_total?.type).toBe('counter');
    expect(value(m, 'celery_task_sent_total')).toBeUndefined();
    expect(value(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    const elsewhere = await fetch(`http://127.0.0.1:${port}/`);
    expect(elsewhere.status).toBe(404);
  }, 60_000);

  it('takes its port from LOVAGE_METRICS_PORT, and serves nothing without one', async (ctx) => {
    const withEnv = startWorker(ctx, [], { LOVAGE_METRICS_PORT: '0' });
    expect(await metricsPort(withEnv)).toBeGreaterThan(0);
    const without = startWorker(ctx, ['-n', `w2@${host}`]);
    await without.waitForLog('worker ready', 20_000);
    expect(without.stdout()).not.toMatch(/metrics served at/);
  }, 60_000);
});

describe('lovage monitor --metrics-port', () => {
  it('serves the cluster view from events, queue lengths from the broker, and the events folded', async (ctx) => {
    const monitor = runCli(ctx, ['monitor', '--key-prefix', prefix, '--metrics-port', '0']);
    const port = await metricsPort(monitor);
    await monitor.waitForLog('monitor started', 20_000);
    const worker = startWorker(ctx);
    await worker.waitForLog('worker ready', 20_000);

    const app = senderApp();
    await runTasks(app);
    // Two messages on a queue nobody consumes.
    for (let i = 0; i < 2; i++)
      taskIds.push((await app.sendTask('metrics.ok', [], {}, { queue: idleQueue })).id);

    const done = (m: PromMetrics) =>
      value(m, 'celery_task_succeeded_total', { name: 'metrics.flaky', hostname: host }) === 1 &&
      value(m, 'celery_task_succeeded_total', { name: 'metrics.ok', hostname: host }) === 3 &&
      value(m, 'celery_task_failed_total', { name: 'metrics.boom', exception: 'BoomError' }) === 2 &&
      value(m, 'celery_task_sent_total', { name: 'metrics.ok', queue_name: idleQueue }) === 2;
    expectTaskFigures(await scrapeUntil(port, done));
    const m = await scrape(port);
    expectTaskFigures(m);

    // task-sent carries the sender's host name and the queue; its wait starts there.
    expect(value(m, 'celery_task_sent_total', { name: 'metrics.ok', queue_name: queue })).toBe(3);
    expect(value(m, 'celery_task_sent_total', { name: 'metrics.boom', queue_name: queue })).toBe(2);
    expect(value(m, 'celery_worker_up', { hostname: host })).toBe(1);
    expect(value(m, 'celery_worker_tasks_active', { hostname: host })).toBe(0);
    expect(value(m, 'celery_queue_length', { queue_name: idleQueue })).toBe(2);
    expect(value(m, 'celery_queue_length', { queue_name: queue })).toBe(0);
    expect(value(m, 'lovage_queue_stats_up')).toBe(1);
    if (TEST_BROKER.kind === 'amqp') {
      // RabbitMQ counts consumers per queue; Redis has no such thing, so the series is absent there.
      expect(value(m, 'celery_active_consumer_count', { queue_name: queue })).toBe(1);
    } else {
      expect(value(m, 'celery_active_consumer_count', { queue_name: queue })).toBeUndefined();
      expect(value(m, 'lovage_queue_unacked', { queue_name: queue })).toBe(0);
    }
    // Every task event above was folded (on RabbitMQ the run's other tests share the event exchange).
    const folded = (type: string) => value(m, 'lovage_monitor_events_folded_total', { type });
    const exactly = TEST_BROKER.kind === 'redis';
    for (const [type, n] of [
      ['task-succeeded', 4],
      ['task-failed', 2],
      ['task-retried', 1],
      ['task-sent', 8],
    ] as const) {
      if (exactly) expect(folded(type)).toBe(n);
      else expect(folded(type)).toBeGreaterThanOrEqual(n);
    }
    expect(value(m, 'lovage_monitor_events_malformed_total')).toBe(0);
    expect(m.lovage_monitor_events_pending?.type).toBe('gauge');
  }, 90_000);
});

describe('a bad metrics port is refused, naming it', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a port that is no number', ['--metrics-port', 'abc'], {}, /--metrics-port <port>.*'abc'.*port 0-65535/],
    ['a port past 65535', ['--metrics-port', '70000'], {}, /--metrics-port <port>.*'70000'.*port 0-65535/],
    [
      'a bad LOVAGE_METRICS_PORT',
      [],
      { LOVAGE_METRICS_PORT: 'abc' },
      /LOVAGE_METRICS_PORT: expected a port 0-65535/,
    ],
  ];
  it.concurrent.for(cases)('worker: %s', async ([, args, env, message], ctx) => {
    const cli = runCli(ctx, ['worker', '-A', fixture('metrics-app.ts'), ...args], env);
    expect((await exitOf(cli)).code).toBe(2);
    ctx.expect(cli.stderr()).toMatch(message);
  });
  it.concurrent.for(cases)('monitor: %s', async ([, args, env, message], ctx) => {
    const cli = runCli(ctx, ['monitor', ...args], env);
    expect((await exitOf(cli)).code).toBe(2);
    ctx.expect(cli.stderr()).toMatch(message);
  });
});
