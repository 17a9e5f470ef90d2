/** How a test run picks its broker from its environment (TEST_BROKER, TEST_BROKER_URL). */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkUrl } from '../../src/app/urls';
import {
  prepareTestBroker,
  resolveTestBroker,
  TEST_BACKEND_URL,
  TEST_REDIS_URL,
  testBrokerKind,
} from '../../src/testing/test-broker';

describe('resolveTestBroker', () => {
  it('is the machine Redis by default, the state store on the broker URL as createApp defaults it', () => {
    for (const env of [{}, { TEST_BROKER: 'redis' }, { TEST_BROKER: ' Redis ' }]) {
      expect(resolveTestBroker(env)).toEqual({
        kind: 'redis',
        url: TEST_REDIS_URL,
        backendUrl: TEST_BACKEND_URL,
        stateUrl: TEST_REDIS_URL,
      });
    }
  });

  it('takes TEST_BROKER_URL as given, its kind from the scheme; off Redis the state store stays on Redis', () => {
    const url = 'amqp://guest:guest@127.0.0.1:5672/lovage-test-x';
    expect(resolveTestBroker({ TEST_BROKER_URL: url })).toEqual({
      kind: 'amqp',
      url,
      backendUrl: TEST_BACKEND_URL,
      stateUrl: TEST_REDIS_URL,
    });
    expect(testBrokerKind({ TEST_BROKER: 'amqp', TEST_BROKER_URL: 'pyamqp://h//' })).toBe('amqp');
    expect(resolveTestBroker({ TEST_BROKER_URL: 'redis://h:6380/3' }).stateUrl).toBe('redis://h:6380/3');
  });

  it('refuses what it cannot honour, saying why', () => {
    expect(() => testBrokerKind({ TEST_BROKER: 'kafka' })).toThrow(
      'TEST_BROKER must be redis or amqp, not "kafka"',
    );
    expect(() => testBrokerKind({ TEST_BROKER_URL: 'http://h' })).toThrow(/TEST_BROKER_URL must be/);
    expect(() => testBrokerKind({ TEST_BROKER: 'redis', TEST_BROKER_URL: 'amqp://h/' })).toThrow(
      'TEST_BROKER=redis but TEST_BROKER_URL names amqp',
    );
    expect(() => resolveTestBroker({ TEST_BROKER: 'amqp' })).toThrow(/its global setup makes the vhost/);
  });
});

describe('prepareTestBroker', () => {
  it('on Redis: the machine Redis, nothing to tear down', async () => {
    const { broker, teardown } = await prepareTestBroker({});
    expect(broker.url).toBe(TEST_REDIS_URL);
    await teardown();
  });

  const amqpRefused = checkUrl('broker', 'amqp://127.0.0.1:5672/');
  it.runIf(amqpRefused)('with amqp while createApp refuses amqp://: one line, no vhost made', async () => {
    await expect(prepareTestBroker({ TEST_BROKER: 'amqp' })).rejects.toThrow(
      `TEST_BROKER=amqp: createApp refuses amqp:// (${amqpRefused}); no test can run on it`,
    );
  });
  it.runIf(!amqpRefused)('with amqp: a vhost of its own for guest, gone after the teardown', async () => {
    const { broker, teardown } = await prepareTestBroker({ TEST_BROKER: 'amqp' });
    const vhost = decodeURIComponent(new URL(broker.url).pathname.slice(1));
    const vhosts = () => execFileSync('rabbitmqctl', ['list_vhosts', '-q']).toString().split('\n');
    try {
      expect(vhost).toMatch(/^lovage-test-[0-9a-f-]{36}$/);
      expect(vhosts()).toContain(vhost);
    } finally {
      await teardown();
    }
    expect(vhosts()).not.toContain(vhost);
  });
});
