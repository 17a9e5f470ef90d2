/**
 * The Monitor end to end on the real Redis: worker events published by WorkerEventPublishers land in the
 * index; junk on the events channel is counted and skipped; a failing index is retried without losing
 * events; a monitor built from an app uses the app's broker and key prefix and wakes the workers.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Monitor, TaskIndex, WorkerEventPublisher, type CeleryEvent } from '../../src';
import { RedisBroker } from '../../src/adapters/redis';
import { REDIS_URL, createTestApp, deleteMatching, uniquePrefix, waitFor, type TestApp } from '../helpers';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(indexOverride?: (index: TaskIndex) => TaskIndex) {
  const prefix = uniquePrefix();
  const broker = new RedisBroker(REDIS_URL, { globalKeyprefix: prefix });
  const index = new TaskIndex(REDIS_URL, { prefix });
  const monitor = new Monitor({ broker, index: indexOverride ? indexOverride(index) : index });
  cleanups.push(async () => {
    await monitor.stop();
    await index.close();
    await broker.close();
    await deleteMatching(REDIS_URL, `${prefix}*`);
  });
  return { prefix, broker, index, monitor };
}

const stats = () => ({ active: 0, processed: 0, lovage: { pool: 'async' } });

describe('Monitor', () => {
  it('folds the events of publishing workers into the index', async () => {
    const { broker, index, monitor } = setup();
    await monitor.start();
    const w1 = new WorkerEventPublisher(broker, { hostname: 'm1@test', taskEvents: true, stats });
    const w2 = new WorkerEventPublisher(broker, { hostname: 'm2@test', taskEvents: true, stats });
    await Promise.all([w1.start(), w2.start()]);
    for (let i = 0; i < 300; i++) {
      const w = i % 2 === 0 ? w1 : w2;
      const uuid = `m-${i}`;
      w.task('task-received', {
        uuid,
        name: 'proj.m',
        args: `(${i},)`,
        kwargs: '{}',
        queue: 'mq',
        retries: 0,
      });
      w.task('task-started', { uuid });
      if (i % 10 === 0) w.task('task-failed', { uuid, exception: "KeyError('k')", traceback: 'Traceback' });
      else w.task('task-succeeded', { uuid, result: String(i), runtime: 0.001 });
    }
    await Promise.all([w1.stop(), w2.stop()]);
    await waitFor(
      async () => (await index.counts()).SUCCESS === 270 && (await index.counts()).FAILURE === 30,
      {
        what: 'all tasks folded',
      },
    );
    expect(await index.get('m-7')).toMatchObject({
      state: 'SUCCESS',
      name: 'proj.m',
      args: '(7,)',
      result: '7',
      worker: 'm2@test',
      queue: 'mq',
    });
    await waitFor(async () => (await index.workers()).length === 2, { what: 'workers' });
    const workers = await index.workers();
    expect(workers.map((w) => [w.hostname, w.alive, w.swIdent, w.extra])).toEqual([
      ['m1@test', false, 'lovage', { lovage: { pool: 'async' } }],
      ['m2@test', false, 'lovage', { lovage: { pool: 'async' } }],
    ]);
    expect(monitor.stats.processed).toBeGreaterThanOrEqual(900 + 4);
    expect(monitor.stats.malformed).toBe(0);
  });

  it('counts and skips malformed event messages and keeps going', async () => {
    const { prefix, broker, index, monitor } = setup();
    await monitor.start();
    const raw = new Redis(REDIS_URL);
    cleanups.push(async () => raw.disconnect());
    const envelope = (body: string) =>
      JSON.stringify({
        body: Buffer.from(body).toString('base64'),
        'content-type': 'application/json',
        headers: {},
        properties: { delivery_tag: 't', body_encoding: 'base64' },
      });
    await raw.publish(`${prefix}/0.celeryev/task.multi`, envelope('{{{'));
    await raw.publish(`${prefix}/0.celeryev/task.multi`, envelope('[{"type":"task-succeeded"}, "x"]'));
    await raw.publish(`${prefix}/0.celeryev/worker.heartbeat`, envelope('{"type":"worker-heartbeat"}'));
    const w = new WorkerEventPublisher(broker, { hostname: 'ok@test', taskEvents: true, stats });
    w.task('task-received', { uuid: 'after-junk', name: 'proj.ok' });
    await w.flush();
    await waitFor(async () => (await index.get('after-junk')) !== null, { what: 'the good event' });
    expect(monitor.stats.malformed).toBe(4);
    expect(monitor.stats.lastError).toMatch(/hostname|type|uuid|JSON/);
  });

  it('retries a batch the index could not apply, without losing events', async () => {
    let failures = 2;
    const { broker, index, monitor } = setup((real) => {
      const flaky = Object.create(real) as TaskIndex;
      flaky.apply = async (events: readonly CeleryEvent[]) => {
        if (failures > 0) {
          failures--;
          throw new Error('Redis went away');
        }
        return real.apply(events);
      };
      return flaky;
    });
    await monitor.start();
    const w = new WorkerEventPublisher(broker, { hostname: 'r@test', taskEvents: true, stats });
    w.task('task-received', { uuid: 'kept', name: 'proj.kept' });
    w.task('task-succeeded', { uuid: 'kept', result: '1', runtime: 0 });
    await w.flush();
    await waitFor(async () => (await index.get('kept'))?.state === 'SUCCESS', {
      what: 'the retried batch',
      timeoutMs: 10_000,
    });
    expect(monitor.stats.failedApplies).toBe(2);
  });

  it('built from an app: uses its broker and key prefix, and asks the workers for a heartbeat', async () => {
    const t: TestApp = createTestApp({ broker: REDIS_URL });
    cleanups.push(() => t.cleanup());
    const pidbox = new Redis(REDIS_URL);
    cleanups.push(async () => pidbox.disconnect());
    const requests: string[] = [];
    pidbox.on('pmessage', (_p: string, _c: string, msg: string) => {
      const env = JSON.parse(msg) as { body: string };
      requests.push((JSON.parse(Buffer.from(env.body, 'base64').toString()) as { method: string }).method);
    });
    await pidbox.psubscribe(`${t.prefix}/0.celery.pidbox*`);
    const monitor = new Monitor(t.app, { trimInterval: 1 });
    await monitor.start();
    cleanups.push(() => monitor.stop());
    expect(monitor.index.base).toBe(`${t.prefix}lovage:index:`);
    await waitFor(() => requests.includes('heartbeat'), { what: 'the heartbeat request' });
    const w = new WorkerEventPublisher(t.app.broker, { hostname: 'app@test', taskEvents: true, stats });
    await w.start();
    w.task('task-received', { uuid: 'via-app', name: 'proj.app' });
    await w.flush();
    await waitFor(async () => (await monitor.index.get('via-app')) !== null, { what: 'the task' });
    expect((await monitor.index.workers()).map((x) => [x.hostname, x.alive])).toEqual([['app@test', true]]);
    await w.stop();
    await waitFor(async () => (await monitor.index.workers())[0]?.alive === false, { what: 'offline' });
    await monitor.stop();
  });
});
