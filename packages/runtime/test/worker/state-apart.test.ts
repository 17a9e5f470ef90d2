/**
 * A worker whose state store is not the broker's Redis (the `state` option on another database): it reads
 * revoked ids from the state store, and dead-letters by put-then-ack into it, leaving nothing in flight.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, Worker, type App } from '../../src';
import { BROKER_URL, deleteMatching, REDIS_URL, silentLogger, uniquePrefix } from '../helpers';

const STATE_URL = 'redis://127.0.0.1:6379/2';

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker with its state store apart from the broker', () => {
  const prefix = uniquePrefix();
  const queue = `apart-${randomUUID()}`;
  let app: App;
  let worker: Worker | null = null;

  afterEach(async () => {
    await worker?.stop({ cold: true });
    await app.close();
    // The broker's records (its queues on Redis; nothing on RabbitMQ, whose vhost the run deletes).
    await deleteMatching(REDIS_URL, `${prefix}*`);
    await deleteMatching(STATE_URL, `${prefix}*`);
  });

  it('honours ids revoked in the state store and keeps its dead letters there', async () => {
    app = createApp({
      broker: BROKER_URL,
      state: STATE_URL,
      defaultQueue: queue,
      brokerTransportOptions: { globalKeyprefix: prefix, pollInterval: 0.2 },
      logger: silentLogger(),
    });
    expect(app.state.sharesBroker).toBe(false);
    const ran: number[] = [];
    app.task('apart.run', (_ctx, n: number) => void ran.push(n));
    const revoked = await app.sendTask('apart.run', [1]);
    await app.revoke(revoked.id);
    const unknown = await app.sendTask('apart.nobody', [2]);
    await app.sendTask('apart.run', [3]);

    worker = new Worker(app, { queues: [queue], concurrency: 1 });
    await worker.start();
    const [letter] = await until('the dead letter', async () => {
      const letters = await app.state.deadLetters.list(queue);
      return letters.length > 0 ? letters : undefined;
    });
    await until('the last task', async () => (ran.includes(3) ? true : undefined));
    expect(ran).toEqual([3]);
    expect(letter).toMatchObject({ queue, reason: 'unregistered task "apart.nobody"' });
    expect(letter!.message?.headers?.id).toBe(unknown.id);
    expect(letter!.consumer).toBe(worker.consumerId);
    // Acknowledged after it was kept: nothing waits, and the broker's Redis holds no dead letter.
    expect(await app.broker.queueLength(queue)).toBe(0);
    await worker.stop();
    worker = null;
    expect(await app.broker.queueLength(queue)).toBe(0);
    expect(await app.state.deadLetters.queues()).toEqual([{ queue, count: 1 }]);
  });
});
