import { afterAll } from 'vitest';
import { RedisBroker } from '../src';
import { describeBrokerConformance } from '../src/testing';
import { BROKER_URL, deleteMatching, uniquePrefix } from './helpers';

// Every instance shares this file's prefix (two instances play two worker processes); tests use unique
// queue names. Keys are deleted once, after the whole suite.
const prefix = uniquePrefix();

afterAll(async () => {
  await deleteMatching(BROKER_URL, `${prefix}*`);
});

describeBrokerConformance('RedisBroker', async (options = {}) => {
  const broker = new RedisBroker(BROKER_URL, {
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
