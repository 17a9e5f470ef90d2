/**
 * The composition root: `createApp` builds the adapters the URLs name; `new App` takes adapters already built,
 * so a test or an embedder can hand in its own and the app uses exactly those.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { App, createApp, parseConfig } from '../../src';
import { RedisBroker, RedisResultBackend, RedisStateStore } from '../../src/adapters/redis';
import { deleteMatching, silentLogger } from '../helpers';

const REDIS = 'redis://127.0.0.1:6379/0';

describe('composition root', () => {
  it('createApp builds the Redis broker and backend its URLs name, and no backend without one', async () => {
    const withResults = createApp({
      broker: REDIS,
      backend: 'redis://127.0.0.1:6379/1',
      logger: silentLogger(),
    });
    const without = createApp({ broker: REDIS, logger: silentLogger() });
    try {
      expect(withResults.broker).toBeInstanceOf(RedisBroker);
      expect(withResults.backend).toBeInstanceOf(RedisResultBackend);
      expect(without.backend).toBeNull();
    } finally {
      await Promise.all([withResults.close(), without.close()]);
    }
  });

  it('an app built on adapters handed in sends through them', async () => {
    const prefix = `test-compose-${randomUUID().slice(0, 8)}:`;
    const broker = new RedisBroker(REDIS, { globalKeyprefix: prefix });
    // The config names no prefix: only the broker handed in decides where messages go.
    const state = new RedisStateStore(REDIS, { prefix, sharesBroker: true });
    const app = new App(parseConfig({ broker: REDIS }), { broker, backend: null, state }, silentLogger());
    try {
      expect(app.broker).toBe(broker);
      await app.sendTask('compose.t', [1], {}, { queue: 'compose-q' });
      expect(await broker.queueLength('compose-q')).toBe(1);
      expect(await broker.purge('compose-q')).toBe(1);
    } finally {
      await app.close();
      await deleteMatching(REDIS, `${prefix}*`);
    }
  });

  it('loads a client library only for the transport an app uses: a Redis app never loads amqplib', () => {
    const script = fileURLToPath(new URL('./fixtures/loaded-clients.mts', import.meta.url));
    const run = (broker: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', script, broker, REDIS], { encoding: 'utf8' }),
      ) as Record<'built' | 'pinged', { amqplib: boolean; ioredis: boolean }>;
    expect(run(REDIS)).toEqual({
      built: { amqplib: false, ioredis: true },
      pinged: { amqplib: false, ioredis: true },
    });
    // The AMQP broker loads amqplib when it first connects, not when the app is built.
    expect(run('amqp://guest:guest@127.0.0.1:5672/')).toEqual({
      built: { amqplib: false, ioredis: true },
      pinged: { amqplib: true, ioredis: true },
    });
  }, 30_000);
});
