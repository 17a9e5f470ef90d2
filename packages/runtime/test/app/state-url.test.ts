/**
 * The state store's URL: the `state` option, else the broker's Redis, else the result backend's; with
 * neither, the app refuses to start naming the option. A state store apart from the broker learns queues
 * from the app, and the app's records go there.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, createApp, parseConfig, stateUrlOf } from '../../src';
import { deleteMatching, silentLogger, uniquePrefix } from '../helpers';

const REDIS = 'redis://127.0.0.1:6379/0';

describe('the state store URL', () => {
  it('is the state option, else the broker when it is Redis, else the result backend', () => {
    expect(stateUrlOf({ broker: REDIS, backend: null, state: 'redis://elsewhere:6379/3' })).toBe(
      'redis://elsewhere:6379/3',
    );
    expect(stateUrlOf(parseConfig({ broker: REDIS, backend: 'redis://127.0.0.1:6379/1' }))).toBe(REDIS);
    expect(stateUrlOf({ broker: 'amqp://mq:5672//', backend: 'redis://r:6379/1', state: null })).toBe(
      'redis://r:6379/1',
    );
  });

  it('with neither a Redis broker nor a Redis backend, refuses in one line naming the option', () => {
    let err: unknown;
    try {
      stateUrlOf({ broker: 'amqp://guest:secret@mq:5672//', backend: null, state: undefined });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/^no state store: set the `state` option \(a redis:\/\/ URL\)/);
    expect(message).toContain('amqp://guest:****@mq:5672//');
    expect(message).not.toContain('secret');
    expect(message).not.toContain('\n');
  });

  it('takes only a URL a state store can live at', () => {
    expect(() => createApp({ broker: REDIS, state: 'amqp://mq:5672//', logger: silentLogger() })).toThrow(
      /state must be a redis:\/\/ or rediss:\/\/ URL \(amqp:\/\/ is not supported\)/,
    );
  });

  it("shares the broker's Redis by default; apart, it gets the app's queues and revoked ids", async () => {
    const prefix = uniquePrefix();
    const shared = createApp({ broker: REDIS, logger: silentLogger() });
    const apart = createApp({
      broker: REDIS,
      state: 'redis://127.0.0.1:6379/2',
      brokerTransportOptions: { globalKeyprefix: prefix },
      logger: silentLogger(),
    });
    try {
      expect(shared.state.sharesBroker).toBe(true);
      expect(apart.state.sharesBroker).toBe(false);
      expect(apart.state.displayUrl).toBe('redis://127.0.0.1:6379/2');
      const queue = `apart-${randomUUID()}`;
      await apart.sendTask('apart.t', [], {}, { queue });
      expect(await apart.state.queues.list()).toEqual([queue]);
      expect(await apart.broker.purge(queue)).toBe(1);
      const id = randomUUID();
      await apart.revoke(id);
      expect(await apart.state.revoked.current()).toEqual([id]);
    } finally {
      await Promise.all([shared.close(), apart.close()]);
      await deleteMatching('redis://127.0.0.1:6379/2', `${prefix}*`);
      await deleteMatching(REDIS, `${prefix}*`);
    }
  });
});
