import { describe, expect, it } from 'vitest';
import { ConfigError, createApp, parseConfig, type CreateAppOptions } from '../../src';
import { silentLogger } from '../helpers';

const base = { broker: 'redis://127.0.0.1:6379/0' };

function configError(input: Record<string, unknown>): ConfigError {
  try {
    parseConfig(input as Parameters<typeof parseConfig>[0]);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    return err as ConfigError;
  }
  throw new Error('expected ConfigError, but the config was accepted');
}

describe('app/config', () => {
  it('applies Celery-like defaults', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({
      resultExpires: 86400,
      defaultQueue: 'celery',
      revokedTtl: 10800,
      brokerTransportOptions: {
        globalKeyprefix: '',
        visibilityTimeout: 30,
        pollInterval: 1,
        maxRetriesPerRequest: 20,
      },
      taskDefaults: {},
      taskSendSentEvent: false,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['broker', { broker: 'http://localhost' }, 'broker'],
    ['backend', { ...base, backend: 'mysql://x' }, 'backend'],
    ['resultExpires', { ...base, resultExpires: -1 }, 'resultExpires'],
    ['defaultQueue', { ...base, defaultQueue: '' }, 'defaultQueue'],
    ['revokedTtl', { ...base, revokedTtl: 0 }, 'revokedTtl'],
    [
      'visibilityTimeout',
      { ...base, brokerTransportOptions: { visibilityTimeout: -5 } },
      'brokerTransportOptions.visibilityTimeout',
    ],
    [
      'pollInterval',
      { ...base, brokerTransportOptions: { pollInterval: 60 } },
      'brokerTransportOptions.pollInterval',
    ],
    [
      'maxRetriesPerRequest',
      { ...base, brokerTransportOptions: { maxRetriesPerRequest: -1 } },
      'brokerTransportOptions.maxRetriesPerRequest',
    ],
    ['taskDefaults.rateLimit', { ...base, taskDefaults: { rateLimit: 'fast' } }, 'taskDefaults.rateLimit'],
    ['taskDefaults.maxRetries', { ...base, taskDefaults: { maxRetries: 1.5 } }, 'taskDefaults.maxRetries'],
    ['taskDefaults.timeLimit', { ...base, taskDefaults: { timeLimit: 0 } }, 'taskDefaults.timeLimit'],
  ])('rejects a bad %s and names the field', (_label, input, field) => {
    expect(configError(input).message).toContain(`at ${field}:`);
  });

  // Misspelt options were silently dropped (zod strips unknown keys): tasks went to `celery`, results were off,
  // there was no key prefix at all. Each is refused, naming the key and the closest known one.
  it.each<[Record<string, unknown>, string]>([
    [{ taskDefaultQueue: 'q' }, 'unknown option taskDefaultQueue (did you mean defaultQueue?)'],
    [{ default_queue: 'q' }, 'unknown option default_queue (did you mean defaultQueue?)'],
    [{ resultExpire: 60 }, 'unknown option resultExpire (did you mean resultExpires?)'],
    [
      { brokerTransportOptions: { globalKeyPrefix: 'p:' } },
      'unknown option brokerTransportOptions.globalKeyPrefix (did you mean brokerTransportOptions.globalKeyprefix?)',
    ],
    [
      { visibility_timeout: 60 },
      'unknown option visibility_timeout (did you mean brokerTransportOptions.visibilityTimeout?)',
    ],
    [{ result_backend: 'redis://x' }, 'unknown option result_backend (did you mean backend?)'],
    [
      { taskDefaults: { maxRetry: 2 } },
      'unknown option taskDefaults.maxRetry (did you mean taskDefaults.maxRetries?)',
    ],
    [{ zqxv: 1 }, 'unknown option zqxv'],
  ])('refuses the unknown option %o and suggests the closest', (extra, message) => {
    expect(configError({ ...base, ...extra }).message).toBe(`invalid app config: ${message}`);
  });

  it('names the schemes a URL may have, and the one it has', () => {
    expect(configError({ broker: 'kafka://guest@localhost//' }).message).toBe(
      'invalid app config at broker: broker must be a redis://, rediss://, amqp://, amqps:// or pyamqp:// URL (kafka:// is not supported)',
    );
    expect(configError({ ...base, backend: 'localhost:6379' }).message).toBe(
      'invalid app config at backend: backend must be a redis:// or rediss:// URL',
    );
  });

  it('rejects a missing broker', () => {
    expect(configError({}).message).toContain('at broker:');
  });

  it('createApp validates too, and app.task rejects a bad rate limit and duplicate names', async () => {
    expect(() => createApp({ broker: 'sqs://x', logger: silentLogger() } as CreateAppOptions)).toThrow(
      /at broker:/,
    );
    // An AMQP broker keeps its records on the result backend's Redis, so with neither it refuses.
    expect(() => createApp({ broker: 'amqp://x', logger: silentLogger() } as CreateAppOptions)).toThrow(
      /no state store: set the `state` option/,
    );
    const app = createApp({ ...base, logger: silentLogger() });
    try {
      expect(() => app.task('t.bad', () => 1, { rateLimit: '5 per second' })).toThrow(ConfigError);
      expect(() => app.task('t.neg', () => 1, { timeLimit: -1 })).toThrow(
        'task t.neg: option timeLimit must be more than 0 seconds',
      );
      expect(() => app.task('t.typo', () => 1, { max_retries: 1 } as never)).toThrow(
        'task t.typo: unknown option max_retries (did you mean maxRetries?)',
      );
      expect(() => app.task('t.prio', () => 1, { priority: 1.5 })).toThrow(/option priority/);
      expect(app.tasks.has('t.neg') || app.tasks.has('t.typo') || app.tasks.has('t.prio')).toBe(false);
      app.task('t.once', () => 1);
      expect(() => app.task('t.once', () => 2)).toThrow(/already registered/);
    } finally {
      await app.close();
    }
  });
});
