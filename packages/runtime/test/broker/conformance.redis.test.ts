import { afterAll, describe, expect, it } from 'vitest';
import { BrokerError, createApp, Worker } from '../../src';
import { RedisBroker } from '../../src/adapters/redis';
import {
  describeBrokerConformance,
  type ConformanceBroker,
  type ConformanceBrokerOptions,
} from '../../src/testing';
import { PrivateRedis } from '../private-redis';
import { REDIS_URL, deleteMatching, silentLogger, uniquePrefix } from '../helpers';

// Every instance shares this file's prefix (two instances play two worker processes); tests use unique
// queue names. Keys are deleted once, after the whole suite.
const prefix = uniquePrefix();

afterAll(async () => {
  await deleteMatching(REDIS_URL, `${prefix}*`);
});

function redisInstance(url: string, options: ConformanceBrokerOptions = {}): ConformanceBroker {
  const broker = new RedisBroker(url, {
    globalKeyprefix: prefix,
    visibilityTimeout: options.visibilityTimeout ?? 30,
    pollInterval: 0.2,
  });
  return {
    broker,
    cleanup: () => broker.close().catch(() => undefined),
    // A crashed process: the command connection drops, so lease renewals stop and nothing is released.
    crash: async () => broker.redis.disconnect(),
    // What another consumer's reaper does once this one's lease lapsed: the lease is made to lapse now.
    takeBack: async (consumerId) => {
      await broker.redis.zadd(broker.keys.workers, 1, consumerId);
      expect(await broker.releaseConsumer(consumerId, true)).toBeGreaterThan(0);
    },
  };
}

describeBrokerConformance('RedisBroker', async (options) => redisInstance(REDIS_URL, options), {
  // A private redis-server with every write fsynced (AOF), killed and started again.
  restartable: async () => {
    const server = await PrivateRedis.start(true);
    return {
      make: async (options) => redisInstance(server.url(), options),
      restart: () => server.restart(),
      stop: () => server.destroy(),
    };
  },
});

describe('RedisBroker when Redis is not there', () => {
  it('ping rejects with a BrokerError naming the URL (password masked) and the cause', async () => {
    const broker = new RedisBroker('redis://:secret@127.0.0.1:1/0');
    try {
      const err = await broker.ping(500).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokerError);
      expect((err as Error).message).toMatch(
        /cannot reach the broker at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0 \(.*ECONNREFUSED/,
      );
      expect((err as Error).message).not.toContain('secret');
    } finally {
      broker.redis.disconnect();
      await broker.close().catch(() => undefined);
    }
  });

  it('a worker does not start, and says why', async () => {
    const app = createApp({ broker: 'redis://127.0.0.1:1/0', logger: silentLogger() });
    try {
      await expect(new Worker(app).start()).rejects.toThrow(
        /cannot reach the broker at redis:\/\/127\.0\.0\.1:1\/0/,
      );
    } finally {
      app.broker.close().catch(() => undefined);
    }
  });
});
