import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBroker, RedisStateStore } from '../../src/adapters/redis';
import { describeStateConformance } from '../../src/testing';
import { REDIS_URL, deleteMatching, uniquePrefix } from '../helpers';

const prefix = uniquePrefix();
const apart = uniquePrefix();

afterAll(async () => {
  await deleteMatching(REDIS_URL, `${prefix}*`);
  await deleteMatching(REDIS_URL, `${apart}*`);
});

function pair(statePrefix: string, sharesBroker: boolean) {
  return async () => {
    const broker = new RedisBroker(REDIS_URL, { globalKeyprefix: prefix, pollInterval: 0.2 });
    const state = new RedisStateStore(REDIS_URL, { prefix: statePrefix, sharesBroker });
    return {
      broker,
      state,
      cleanup: async () => {
        await Promise.allSettled([broker.close(), state.close()]);
      },
    };
  };
}

// On the broker's Redis and prefix: dead-lettering is the consumer's one script, requeue byte for byte.
describeStateConformance('RedisStateStore sharing the broker', pair(prefix, true));
// Elsewhere (another prefix plays another Redis): put-then-ack, and requeue through broker.publish.
describeStateConformance('RedisStateStore apart from the broker', pair(apart, false));

describe('RedisStateStore on data the broker wrote before the state store existed', () => {
  it('reads dead letters stored without a decoded message, and the queue registry, under the same keys', async () => {
    const p = uniquePrefix();
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    const state = new RedisStateStore(REDIS_URL, { prefix: p, sharesBroker: true });
    try {
      const raw = JSON.stringify({
        body: Buffer.from('[[1], {}, {}]').toString('base64'),
        'content-encoding': 'utf-8',
        'content-type': 'application/json',
        headers: { id: 'legacy-id', task: 'legacy.task' },
        properties: { body_encoding: 'base64', delivery_tag: randomUUID(), priority: 0 },
      });
      const old = { id: randomUUID(), queue: 'q', reason: 'old', raw, at: 1, consumer: 'c' };
      await redis.lpush(
        `${p}lovage:dead:q`,
        JSON.stringify(old),
        JSON.stringify({ ...old, id: 'x', raw: '?' }),
      );
      await redis.sadd(`${p}lovage:dead-queues`, 'q');
      await redis.sadd(`${p}lovage:queues`, 'q', 'a');
      const [unreadable, readable] = await state.deadLetters.list('q');
      expect(readable).toMatchObject({ ...old, message: { body: '[[1], {}, {}]' } });
      expect(readable!.message?.headers).toEqual({ id: 'legacy-id', task: 'legacy.task' });
      expect(unreadable).toMatchObject({ id: 'x', raw: '?', message: null });
      expect(await state.deadLetters.queues()).toEqual([{ queue: 'q', count: 2 }]);
      expect(await state.queues.list()).toEqual(['a', 'q']);
    } finally {
      redis.disconnect();
      await state.close();
      await deleteMatching(REDIS_URL, `${p}*`);
    }
  });
});
