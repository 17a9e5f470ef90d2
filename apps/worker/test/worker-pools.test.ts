/**
 * The Worker running on the prefork and threads pools, end to end on real Redis: CPU- and I/O-bound tasks,
 * a hard time limit that kills only the offending task, an executor that dies mid-task (FAILURE
 * WorkerLostError, or requeued with acksLate + rejectOnWorkerLost), pool grow/shrink by remote control, and
 * warm and cold shutdown that lose nothing.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type App, type AsyncResult, type WorkerSettings } from '@lovage/runtime';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type PoolKind } from '../src/pools';
import type { ExecutorPool } from '../src/pools/executor-pool';
import { BROKER_ENV, STATE } from './support/broker';
import { deleteByPattern } from './support/redis-keys';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'fixtures/pool-worker-app.ts');
const id = randomUUID().slice(0, 8);
const prefix = `pool-worker-test-${id}:`;
const queue = `pool-worker-${id}`;
process.env.POOL_TEST_PREFIX = prefix;
process.env.POOL_TEST_QUEUE = queue;
Object.assign(process.env, BROKER_ENV);

let app: App;
const workers: Worker[] = [];
const ids = new Set<string>();
const markers: string[] = [];
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  app = ((await import(fixture)) as { app: App }).app;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ cold: true })));
});

afterAll(async () => {
  await app.broker.purge(queue).catch(() => undefined);
  await app.close();
  const redis = new Redis(STATE);
  await deleteByPattern(redis, `${prefix}*`);
  await redis.select(1);
  if (ids.size) await redis.del(...[...ids].map((i) => `celery-task-meta-${i}`));
  redis.disconnect();
  for (const m of markers) rmSync(m, { force: true });
});

async function startWorker(
  kind: PoolKind,
  size: number,
  hostname = `${kind}-${randomUUID().slice(0, 6)}@test`,
  settings: WorkerSettings = {},
) {
  const pool = createPool(kind, { app, appModule: fixture, size, hostname, logger, shutdownGraceMs: 3000 });
  const worker = new Worker(app, {
    pool,
    queues: [queue],
    hostname,
    logger,
    prefetchMultiplier: 1,
    settings,
  });
  workers.push(worker);
  await worker.start();
  return worker;
}

async function send(
  name: string,
  args: unknown[],
  options: { timeLimit?: number } = {},
): Promise<AsyncResult> {
  const r = await app.sendTask(name, args, {}, { queue, ...options });
  ids.add(r.id);
  return r;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(['prefork', 'threads'] as const)('the worker on the %s pool', (kind) => {
  it('runs CPU-bound and I/O-bound tasks in its executors, not in the main thread', async () => {
    await startWorker(kind, 2);
    const [cpu, io] = await Promise.all([send('pw.fib', [25]), send('pw.sleep', [100])]);
    const a = (await cpu.get({ timeout: 20 })) as { value: number; where: string };
    const b = (await io.get({ timeout: 20 })) as { slept: number; where: string };
    expect(a.value).toBe(75025);
    expect(b.slept).toBe(100);
    const mainThread = `${process.pid}/0`;
    expect(a.where).not.toBe(mainThread);
    expect(b.where).not.toBe(mainThread);
  });

  it('a hard time limit kills only the offending task; the worker keeps serving', async () => {
    const worker = await startWorker(kind, 2);
    const spin = await send('pw.spin', [], { timeLimit: 1 });
    const slow = await send('pw.sleep', [1500]);
    await expect(spin.get({ timeout: 20 })).rejects.toMatchObject({ name: 'TimeLimitExceeded' });
    expect(((await slow.get({ timeout: 20 })) as { slept: number }).slept).toBe(1500);
    const after = await send('pw.fib', [10]);
    expect(((await after.get({ timeout: 20 })) as { value: number }).value).toBe(55);
    expect(worker.pool.info().lost).toBeGreaterThanOrEqual(0);
  });

  it('an executor dying mid-task fails the task with WorkerLostError and is replaced', async () => {
    await startWorker(kind, 1);
    const died = await send('pw.die', []);
    await expect(died.get({ timeout: 20 })).rejects.toMatchObject({ name: 'WorkerLostError' });
    const after = await send('pw.fib', [12]);
    expect(((await after.get({ timeout: 20 })) as { value: number }).value).toBe(144);
  });

  it('with acksLate + rejectOnWorkerLost the task goes back to the queue and runs again', async () => {
    await startWorker(kind, 1);
    const marker = path.join(os.tmpdir(), `lovage-die-once-${randomUUID()}`);
    markers.push(marker);
    const r = await send('pw.die-once', [marker]);
    expect(await r.get({ timeout: 25 })).toBe('second run');
  });

  it("the worker's retry defaults (console settings) reach the task in its executor", async () => {
    // The task's own defaults are 3 retries 180 s apart; the worker's settings say 1 retry, at once.
    await startWorker(kind, 1, undefined, { maxRetries: 1, defaultRetryDelay: 0 });
    const r = await send('pw.retry-always', []);
    await expect(r.get({ timeout: 15 })).rejects.toMatchObject({ name: 'MaxRetriesExceededError' });
  });

  it('pool_grow and pool_shrink change how many tasks run at once', async () => {
    const worker = await startWorker(kind, 1);
    const to = { destination: [worker.hostname], timeout: 10 };
    expect(await app.control.poolGrow(2, to)).toEqual([{ [worker.hostname]: { ok: 'pool will grow' } }]);
    expect(worker.concurrency).toBe(3);
    // The reply comes at once (as from Celery); the new executors take a moment to start.
    const executors = () => (worker.pool as ExecutorPool).executorInfo();
    await until('three executors ready', () => executors().filter((e) => e.state === 'idle').length === 3);
    const rs = await Promise.all([0, 1, 2].map(() => send('pw.sleep', [1200])));
    const wheres = new Set(
      ((await Promise.all(rs.map((r) => r.get({ timeout: 20 })))) as Array<{ where: string }>).map(
        (x) => x.where,
      ),
    );
    expect(wheres.size).toBe(3); // three executors ran them side by side
    expect(await app.control.poolShrink(2, to)).toEqual([{ [worker.hostname]: { ok: 'pool will shrink' } }]);
    await until('pool shrunk to 1', () => worker.pool.info()['max-concurrency'] === 1);
    expect(worker.concurrency).toBe(1);
  });

  it("`inspect stats` reports the host's CPUs and memory, and each prefork child's resident memory", async () => {
    const worker = await startWorker(kind, 2);
    const reply = (await app.control.inspect('stats', { destination: [worker.hostname], timeout: 10 }))[
      worker.hostname
    ] as { lovage: { host: Record<string, unknown> } };
    const pids = worker.pool.info().processes;
    expect(reply.lovage.host).toMatchObject({
      cpus: os.availableParallelism(),
      memoryTotal: os.totalmem(),
      memoryFree: expect.any(Number),
      rss: expect.any(Number),
    });
    const children = reply.lovage.host.children as { pid: number; rss: number }[];
    if (kind === 'prefork') {
      expect(children.map((c) => c.pid).sort()).toEqual([...pids].sort());
      // A child is a whole Node process with the tasks module loaded: megabytes, not bytes.
      for (const c of children) expect(c.rss).toBeGreaterThan(10 * 1024 ** 2);
    } else {
      expect(children).toEqual([]); // threads share the worker's process: nothing to measure apart
    }
  });

  it('warm shutdown finishes running tasks and returns the rest; a later worker runs them: nothing lost', async () => {
    const first = await startWorker(kind, 2);
    const rs = await Promise.all(Array.from({ length: 6 }, () => send('pw.sleep', [600])));
    await until('two running', () => first.stats.active === 2);
    await first.stop();
    const states = await Promise.all(rs.map((r) => r.state()));
    expect(states.filter((s) => s === 'SUCCESS').length).toBeGreaterThanOrEqual(2);
    await startWorker(kind, 2);
    const values = await Promise.all(rs.map((r) => r.get({ timeout: 20 })));
    expect(values).toHaveLength(6);
  });

  it('cold shutdown returns running acksLate tasks; a later worker runs them: nothing lost', async () => {
    const first = await startWorker(kind, 2);
    const rs = await Promise.all(Array.from({ length: 4 }, () => send('pw.sleep-late', [2000])));
    await until('two running', () => first.stats.active === 2);
    await first.stop({ cold: true });
    // Abandoned, not finished: the cold stop stored nothing for them.
    expect(await Promise.all(rs.map((r) => r.state()))).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING']);
    await startWorker(kind, 4);
    const values = (await Promise.all(rs.map((r) => r.get({ timeout: 25 })))) as Array<{ slept: number }>;
    expect(values.map((v) => v.slept)).toEqual([2000, 2000, 2000, 2000]);
  });
});
