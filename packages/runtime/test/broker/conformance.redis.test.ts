import { afterAll, describe, expect, it } from 'vitest';
import { BrokerError, createApp, RedisBroker, Worker } from '../../src';
import { describeBrokerConformance } from '../../src/testing';
import { REDIS_URL, deleteMatching, silentLogger, uniquePrefix } from '../helpers';

// Every instance shares this file's prefix (two instances play two worker processes); tests use unique
// queue names. Keys are deleted once, after the whole suite.
const prefix = uniquePrefix();

afterAll(async () => {
  await deleteMatching(REDIS_URL, `${prefix}*`);
});

describeBrokerConformance('RedisBroker', async (options = {}) => {
  const broker = new RedisBroker(REDIS_URL, {
    globalKeyprefix: prefix,
    visibilityTimeout: options.visibilityTimeout ?? 30,
    pollInterval: 0.2,
  });
  return {
    broker,
    cleanup: () => broker.close().catch(() => undefined),
    // A crashed process: the command connection drops, so lease renewals stop and nothing is released.
    crash: async () => broker.redis.disconnect(),
  };
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
