/**
 * Redis killed and started again, first without its data (the default of a Redis that keeps nothing on disk),
 * then with AOF: a live worker re-establishes its lease and in-flight index before it reserves again, so the
 * tasks it takes afterwards are returned by its warm stop, or by another worker's reaper after a SIGKILL.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, PublishError, type App, type AsyncResult } from '../../src/index';
import { PrivateRedis } from '../private-redis';
import { kill, startWorkerProcess, uniq, waitFor } from './helpers';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** `acksLate`: a task running when its worker is SIGKILLed runs again (acked early, it would be lost). */
async function setup(aof: boolean, acksLate: boolean) {
  const redis = await PrivateRedis.start(aof);
  cleanups.push(() => redis.destroy());
  const prefix = `${uniq('loss')}:`;
  const queue = uniq('q');
  const env = {
    PREFIX: prefix,
    QUEUE: queue,
    VT: '2',
    CONCURRENCY: '2',
    BROKER: redis.url(0),
    BACKEND: redis.url(1),
    ACKS_LATE: acksLate ? '1' : '0',
  };
  const app: App = createApp({
    broker: redis.url(0),
    backend: redis.url(1),
    brokerTransportOptions: { globalKeyprefix: prefix, visibilityTimeout: 2 },
    logger: pino({ level: 'silent' }),
  });
  const record = new Redis(redis.url(0), { maxRetriesPerRequest: null });
  record.on('error', () => undefined);
  cleanups.push(async () => {
    record.disconnect();
    await app.close();
  });
  const worker = async () => {
    const child = await startWorkerProcess(env);
    cleanups.push(() => kill(child));
    return child;
  };
  /** Sends tasks of `ms` each; a publish that fails while Redis is down must say so (PublishError). */
  const send = async (n: number, ms: number): Promise<AsyncResult[]> => {
    const settled = await Promise.all(
      Array.from({ length: n }, () =>
        app.sendTask('rel.slow', [ms], {}, { queue }).then(
          (r) => r,
          (err: unknown) => {
            expect(err).toBeInstanceOf(PublishError);
            return null;
          },
        ),
      ),
    );
    return settled.filter((r): r is AsyncResult => r !== null);
  };
  const finished = async (): Promise<number> => record.hlen(`${prefix}finishes`);
  return { redis, app, queue, record, prefix, worker, send, finished };
}

describe.each([
  { mode: 'restarted empty', aof: false },
  { mode: 'restarted with AOF', aof: true },
])('Redis killed and $mode', ({ aof }) => {
  it('a worker SIGKILLed after the restart loses none of the tasks it took since', async () => {
    const t = await setup(aof, true);
    const a = await t.worker();
    // A's lease and index are in Redis before the crash (it is consuming).
    await waitFor('the worker to register', async () => (await t.app.broker.queueLength(t.queue)) === 0);

    await t.redis.crash();
    const during = t.send(1, 800); // waits in the client's offline queue while Redis is down
    await t.redis.start();
    const sent = [...(await t.send(8, 800)), ...(await during)];
    expect(sent.length).toBeGreaterThanOrEqual(8);

    // Worker A takes everything (2 running, the rest prefetched), then dies without a word.
    await waitFor('worker A to take every task', async () => {
      const [waiting, started] = await Promise.all([
        t.app.broker.queueLength(t.queue),
        t.record.hlen(`${t.prefix}starts`),
      ]);
      return waiting === 0 && started > 0;
    });
    await kill(a, 'SIGKILL');

    // Worker B's reaper returns A's tasks once A's lease lapses: every task finishes.
    await t.worker();
    const values = await Promise.all(sent.map((r) => r.get({ timeout: 30 })));
    expect(values).toEqual(sent.map(() => 800));
  }, 60_000);

  it('a warm stop after the restart returns every task it holds', async () => {
    const t = await setup(aof, false);
    const a = await t.worker();
    await waitFor('the worker to register', async () => (await t.app.broker.queueLength(t.queue)) === 0);

    await t.redis.crash();
    await t.redis.start();
    const sent = await t.send(8, 800);
    await waitFor('worker A to take every task', async () => {
      const [waiting, started] = await Promise.all([
        t.app.broker.queueLength(t.queue),
        t.record.hlen(`${t.prefix}starts`),
      ]);
      return waiting === 0 && started > 0;
    });
    await kill(a, 'SIGTERM');

    // Warm stop: the running tasks finished, every other task is back in the queue, none in between.
    expect((await t.finished()) + (await t.app.broker.queueLength(t.queue))).toBe(8);
    await t.worker();
    const values = await Promise.all(sent.map((r) => r.get({ timeout: 30 })));
    expect(values).toEqual(sent.map(() => 800));
  }, 60_000);
});
