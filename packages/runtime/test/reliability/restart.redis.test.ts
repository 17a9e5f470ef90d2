/**
 * Redis going away: a dedicated redis-server (AOF, fsync always) is shut down mid-stream and started again.
 * Clients and the worker reconnect by themselves; every task enqueued before, during and after completes.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, PublishError, Worker, type App } from '../../src/index';
import { PrivateRedis } from '../private-redis';

let redis: PrivateRedis;

let app: App;
let worker: Worker;

beforeAll(async () => {
  redis = await PrivateRedis.start(true);
  app = createApp({
    broker: redis.url(0),
    backend: redis.url(1),
    brokerTransportOptions: { visibilityTimeout: 5 },
    logger: pino({ level: 'silent' }),
  });
  app.task('r.echo', async (_ctx, n: number) => {
    await new Promise((r) => setTimeout(r, 20));
    return n;
  });
  worker = new Worker(app, { concurrency: 8 });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await app?.close();
  await redis.destroy();
});

describe('Redis restarted mid-stream', () => {
  it('completes every task enqueued before, during and after the outage', async () => {
    const before = await Promise.all(Array.from({ length: 300 }, (_, i) => app.sendTask('r.echo', [i])));
    await redis.shutdown();
    // The outage starts mid-stream: the worker has not finished the first batch.
    expect(worker.processed).toBeLessThan(300);

    // Published while Redis is down: each either lands after the reconnect or fails with a clear error.
    const during = Array.from({ length: 20 }, (_, i) =>
      app.sendTask('r.echo', [1000 + i]).then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
    );
    await new Promise((r) => setTimeout(r, 500)); // the outage lasts a while
    await redis.start();
    const after = await Promise.all(
      Array.from({ length: 100 }, (_, i) => app.sendTask('r.echo', [2000 + i])),
    );

    const duringResults = await Promise.all(during);
    for (const d of duringResults) {
      if (!d.ok) expect(d.err).toBeInstanceOf(PublishError);
    }
    const landed = duringResults.flatMap((d) => (d.ok ? [d.r] : []));
    expect(landed.length).toBe(20);

    const all = [...before, ...landed, ...after];
    const values = await Promise.all(all.map((r) => r.get({ timeout: 30 })));
    expect(values.slice(0, 300)).toEqual(before.map((_, i) => i));
    expect(values.slice(300, 320)).toEqual(landed.map((_, i) => 1000 + i));
    expect(values.slice(320)).toEqual(after.map((_, i) => 2000 + i));
  }, 60_000);
});
