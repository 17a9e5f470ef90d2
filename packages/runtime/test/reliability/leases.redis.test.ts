/**
 * Nothing lost, nothing run twice while its worker lives: leases, crash recovery and load across processes,
 * against the real Redis.
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, Worker, type App } from '../../src/index';
import { kill, REDIS, startWorkerProcess, uniq, waitFor } from './helpers';
import { deleteMatching } from '../helpers';

const redis = new Redis(REDIS);
const results = new Redis('redis://127.0.0.1:6379/1');
const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  redis.disconnect();
  results.disconnect();
});

function clientApp(prefix: string, vt = 1): App {
  const app = createApp({
    broker: REDIS,
    backend: 'redis://127.0.0.1:6379/1',
    brokerTransportOptions: { globalKeyprefix: prefix, visibilityTimeout: vt },
    logger: silent,
  });
  cleanups.push(async () => {
    await app.close();
    await deleteMatching(REDIS, `${prefix}*`);
  });
  return app;
}

function track(child: ChildProcess): ChildProcess {
  cleanups.push(() => kill(child));
  return child;
}

async function counts(prefix: string, key: 'starts' | 'finishes'): Promise<Record<string, number>> {
  const h = await redis.hgetall(`${prefix}${key}`);
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
}

describe('a worker killed with SIGKILL mid-task (acksLate)', () => {
  it('completes every task, and only tasks in flight at the kill run twice', async () => {
    const prefix = `${uniq('kill')}:`;
    const queue = uniq('q');
    const app = clientApp(prefix);
    const env = { PREFIX: prefix, QUEUE: queue, VT: '1', ACKS_LATE: '1', CONCURRENCY: '4' };
    const a = track(await startWorkerProcess(env));
    const sent: Awaited<ReturnType<typeof app.sendTask>>[] = [];
    for (let i = 0; i < 24; i++) sent.push(await app.sendTask('rel.slow', [300], {}, { queue }));

    // Kill while some tasks are done and some are running.
    await waitFor('some tasks finished and some running', async () => {
      const [s, f] = await Promise.all([counts(prefix, 'starts'), counts(prefix, 'finishes')]);
      return Object.keys(f).length >= 4 && Object.keys(s).length > Object.keys(f).length;
    });
    await kill(a, 'SIGKILL');
    const startsAtKill = await counts(prefix, 'starts');
    const finishesAtKill = await counts(prefix, 'finishes');
    const storedAtKill = new Set(
      (await results.mget(sent.map((r) => `celery-task-meta-${r.id}`)))
        .map((v, i) => (v && v.includes('"SUCCESS"') ? sent[i]!.id : null))
        .filter((x): x is string => x !== null),
    );
    const runningAtKill = Object.keys(startsAtKill).filter(
      (id) => (finishesAtKill[id] ?? 0) < startsAtKill[id]!,
    );
    expect(runningAtKill.length).toBeGreaterThan(0);

    track(await startWorkerProcess(env));
    const values = await Promise.all(sent.map((r) => r.get({ timeout: 30 })));
    cleanups.push(async () => void (await Promise.all(sent.map((r) => r.forget()))));
    expect(values).toEqual(sent.map(() => 300));

    const starts = await counts(prefix, 'starts');
    expect(Object.keys(starts).sort()).toEqual(sent.map((r) => r.id).sort());
    const twice = Object.keys(starts).filter((id) => starts[id]! > 1);
    // Every task that was running when its worker died ran again; nothing else did, except a task that had
    // finished its work but not yet stored its result (it was still unacknowledged).
    for (const id of runningAtKill) expect(starts[id]).toBe(2);
    for (const id of twice) {
      expect(storedAtKill.has(id)).toBe(false);
      expect(startsAtKill[id]).toBeGreaterThan(0);
    }
    expect(Math.max(...Object.values(starts))).toBe(2);
  });
});

describe('leases of a live worker', () => {
  async function twoWorkers(prefix: string, queue: string, onRun: () => void) {
    const apps = [clientApp(prefix), clientApp(prefix)];
    const workers = apps.map((app) => {
      app.task(
        'rel.long',
        async (_ctx, ms: number) => {
          onRun();
          await new Promise((r) => setTimeout(r, ms));
          return 'done';
        },
        { acksLate: true },
      );
      return new Worker(app, { queues: [queue], concurrency: 2, logger: silent });
    });
    for (const w of workers) {
      await w.start();
      cleanups.push(() => w.stop());
    }
    return apps[0]!;
  }

  it('runs a task lasting 3x the visibility timeout once', async () => {
    const prefix = `${uniq('long')}:`;
    const queue = uniq('q');
    let runs = 0;
    const app = await twoWorkers(prefix, queue, () => runs++);
    const r = await app.sendTask('rel.long', [3000], {}, { queue });
    cleanups.push(() => r.forget());
    expect(await r.get({ timeout: 15 })).toBe('done');
    expect(runs).toBe(1);
  });

  it('runs an ETA task held far beyond the visibility timeout once', async () => {
    const prefix = `${uniq('eta')}:`;
    const queue = uniq('q');
    let runs = 0;
    const app = await twoWorkers(prefix, queue, () => runs++);
    const sentAt = Date.now();
    const r = await app.sendTask('rel.long', [10], {}, { queue, countdown: 3.5 });
    cleanups.push(() => r.forget());
    expect(await r.get({ timeout: 15 })).toBe('done');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3400);
    expect(runs).toBe(1);
  });
});

describe('10,000 tasks through 2 worker processes', () => {
  it('runs each task exactly once and loses none', async () => {
    const prefix = `${uniq('load')}:`;
    const queue = uniq('q');
    const app = clientApp(prefix, 5);
    const env = { PREFIX: prefix, QUEUE: queue, VT: '5', CONCURRENCY: '50' };
    const workers = await Promise.all([startWorkerProcess(env), startWorkerProcess(env)]);
    workers.forEach(track);
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i += 500) {
      const batch = await Promise.all(
        Array.from({ length: 500 }, () => app.sendTask('rel.count', [], {}, { queue, ignoreResult: true })),
      );
      ids.push(...batch.map((r) => r.id));
    }
    await waitFor('all tasks to run', async () => (await redis.hlen(`${prefix}starts`)) >= 10_000, 60_000);
    const starts = await counts(prefix, 'starts');
    expect(Object.keys(starts).length).toBe(10_000);
    expect(Object.values(starts).every((n) => n === 1)).toBe(true);
    expect(new Set(ids)).toEqual(new Set(Object.keys(starts)));
    expect(await app.broker.queueLength(queue)).toBe(0);
    // Both processes took part.
    const pids = Object.keys(await redis.hgetall(`${prefix}pids`))
      .map(Number)
      .sort();
    expect(pids).toEqual(workers.map((w) => w.pid).sort());
  }, 90_000);
});
