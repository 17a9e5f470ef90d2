/**
 * The error tree: each error sits under its subsystem with its stable code, the task errors keep the Celery
 * names Python clients re-raise, and the Redis adapters turn ioredis' connection errors into their
 * subsystem's "unavailable" error at their boundary.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PIDBOX_EXCHANGE,
  REPLY_EXCHANGE,
  BackendDisabledError,
  BackendError,
  BrokerError,
  ConfigError,
  ControlError,
  EncodeError,
  LovageError,
  MalformedMessageError,
  MaxRetriesExceededError,
  NotRegistered,
  ProtocolError,
  PublishError,
  ResultTimeoutError,
  RetryRequested,
  serializeException,
  SettingsConflictError,
  SettingsInvalidError,
  SettingsStore,
  SoftTimeLimitExceeded,
  StateError,
  TaskError,
  TaskFailedError,
  TaskIndex,
  TaskPredicate,
  TaskRevokedError,
  TimeLimitExceeded,
  WorkerLostError,
  type OutgoingMessage,
} from '../../src';
import { RedisBroker, RedisResultBackend, RedisStateStore } from '../../src/adapters/redis';
import { redisBoundary, redisDisplayUrl } from '../../src/redis/connection';
import { REDIS_URL, deleteMatching, uniquePrefix } from '../helpers';

describe('the error tree', () => {
  const cases: [LovageError, abstract new (...args: never[]) => LovageError, string][] = [
    [new ConfigError('x'), ConfigError, 'CONFIG_INVALID'],
    [new BrokerError('x'), BrokerError, 'BROKER_UNAVAILABLE'],
    [new PublishError('x'), BrokerError, 'BROKER_PUBLISH_FAILED'],
    [new BackendError('x'), BackendError, 'BACKEND_UNAVAILABLE'],
    [new ResultTimeoutError('id', 1), BackendError, 'RESULT_TIMEOUT'],
    [new BackendDisabledError(), BackendError, 'BACKEND_DISABLED'],
    [new StateError('x'), StateError, 'STATE_UNAVAILABLE'],
    [new SettingsInvalidError('x'), StateError, 'SETTINGS_INVALID'],
    [new SettingsConflictError(1, 2), StateError, 'SETTINGS_CONFLICT'],
    [new MalformedMessageError('x'), ProtocolError, 'MESSAGE_MALFORMED'],
    [new EncodeError('result', 'x'), ProtocolError, 'ENCODE_ERROR'],
    [new ControlError('x'), ControlError, 'CONTROL_ERROR'],
    [new NotRegistered('t'), TaskError, 'TASK_NOT_REGISTERED'],
    [new TaskRevokedError(), TaskError, 'TASK_REVOKED'],
    [new MaxRetriesExceededError('x'), TaskError, 'MAX_RETRIES_EXCEEDED'],
    [new SoftTimeLimitExceeded(1), TaskError, 'SOFT_TIME_LIMIT'],
    [new TimeLimitExceeded(1), TaskError, 'TIME_LIMIT'],
    [new WorkerLostError('x'), TaskError, 'WORKER_LOST'],
    [
      new TaskFailedError({
        taskId: 'i',
        excType: 'ValueError',
        excModule: 'builtins',
        excArgs: ['x'],
        traceback: null,
      }),
      TaskError,
      'TASK_FAILED',
    ],
    [new RetryRequested({ countdown: 1, eta: null, exc: null, message: 'x' }), TaskPredicate, 'TASK_RETRY'],
  ];

  it.each(cases)('%s sits under its subsystem with its stable code', (err, root, code) => {
    expect(err).toBeInstanceOf(root);
    expect(err).toBeInstanceOf(LovageError);
    expect(err.code).toBe(code);
  });

  it('a retry request is a predicate, not a task failure', () => {
    const r = new RetryRequested({ countdown: 1, eta: null, exc: null, message: 'Retry in 1s' });
    expect(r).not.toBeInstanceOf(TaskError);
    expect(r.name).toBe('Retry');
  });

  it('task errors are stored under the Celery names Python clients re-raise', () => {
    const stored = (e: Error) => {
      const { exc_type, exc_module } = serializeException(e);
      return `${String(exc_module)}.${String(exc_type)}`;
    };
    expect(stored(new NotRegistered('t'))).toBe('celery.exceptions.NotRegistered');
    expect(stored(new TaskRevokedError())).toBe('celery.exceptions.TaskRevokedError');
    expect(stored(new MaxRetriesExceededError('x'))).toBe('celery.exceptions.MaxRetriesExceededError');
    expect(stored(new SoftTimeLimitExceeded(1))).toBe('billiard.exceptions.SoftTimeLimitExceeded');
    expect(stored(new TimeLimitExceeded(1))).toBe('billiard.exceptions.TimeLimitExceeded');
    expect(stored(new WorkerLostError('x'))).toBe('billiard.exceptions.WorkerLostError');
    expect(stored(new EncodeError('result', 'x'))).toBe('kombu.exceptions.EncodeError');
  });
});

/** Nothing listens on port 1 of the loopback. */
const DOWN = 'redis://:secret@127.0.0.1:1/0';
const MASKED = 'redis://:****@127.0.0.1:1/0';

/** What `p` rejected with; a value it resolved with fails the check. */
async function failure(p: Promise<unknown>): Promise<LovageError> {
  const err: unknown = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LovageError);
  return err as LovageError;
}

describe('Redis adapters with Redis unreachable', () => {
  it('the task index fails every call with a StateError naming the URL, password masked', async () => {
    // A fresh index per call: each fails on its first connection attempt, not after a reconnect backoff.
    const calls: ((index: TaskIndex) => Promise<unknown>)[] = [
      (index) => index.list({}, { offset: 0, limit: 10 }),
      (index) => index.get('x'),
      (index) => index.children('x'),
      (index) => index.counts(),
      (index) => index.workers(),
      (index) => index.queues(),
      (index) => index.histogram(['SUCCESS'], { from: 0, to: 60_000, bucketMs: 60_000 }),
      (index) => index.apply([{ type: 'task-sent', uuid: 'x', timestamp: 1 } as never]),
      (index) => index.trim(),
      (index) => index.idsInState('SUCCESS').next(),
    ];
    for (const call of calls) {
      const index = new TaskIndex(DOWN, { maxRetriesPerRequest: 0 });
      try {
        const err = await failure(call(index));
        expect(err).toBeInstanceOf(StateError);
        expect(err.code).toBe('STATE_UNAVAILABLE');
        expect(err.message).toBe(`Redis is not reachable at ${MASKED}`);
        expect(err.cause).toBeInstanceOf(Error);
      } finally {
        await index.close();
      }
    }
  });

  it('the settings store fails with a StateError; its own errors pass unchanged', async () => {
    const store = new SettingsStore(DOWN, { maxRetriesPerRequest: 0 });
    try {
      for (const call of [
        () => store.current(),
        () => store.save({}, { expectedVersion: 0, updatedBy: null }),
      ]) {
        const err = await failure(call());
        expect(err.code).toBe('STATE_UNAVAILABLE');
        expect(err.message).toBe(`Redis is not reachable at ${MASKED}`);
      }
      const bad = await failure(
        store.save({ concurrency: -1 } as never, { expectedVersion: 0, updatedBy: null }),
      );
      expect(bad).toBeInstanceOf(SettingsInvalidError);
    } finally {
      await store.close();
    }
  });

  it('the result backend fails with a BackendError', async () => {
    const backend = new RedisResultBackend(DOWN, { resultExpires: 60, maxRetriesPerRequest: 0 });
    try {
      for (const call of [
        () => backend.get('x'),
        () => backend.store('x', 'SUCCESS', '1'),
        () => backend.forget('x'),
      ]) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(BackendError);
        expect(err.code).toBe('BACKEND_UNAVAILABLE');
        expect(err.message).toBe(`Redis is not reachable at ${MASKED}`);
      }
    } finally {
      await backend.close();
    }
  });
});

describe('the Redis state store with Redis unreachable', () => {
  it('fails its records with a StateError naming the URL', async () => {
    for (const call of [
      (s: RedisStateStore) => s.queues.list(),
      (s: RedisStateStore) => s.deadLetters.queues(),
      (s: RedisStateStore) => s.deadLetters.list('q'),
      (s: RedisStateStore) => s.revoked.current(),
    ]) {
      const state = new RedisStateStore(DOWN, { maxRetriesPerRequest: 0 });
      try {
        const err = await failure(call(state));
        expect(err).toBeInstanceOf(StateError);
        expect(err.code).toBe('STATE_UNAVAILABLE');
        expect(err.message).toBe(`Redis is not reachable at ${MASKED}`);
      } finally {
        await state.close().catch(() => undefined);
      }
    }
  });
});

describe('ping through the runtime with Redis unreachable', () => {
  const why =
    /^Redis is not reachable at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0 \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/;
  const adapters: [
    string,
    (retries: number | undefined) => { ping(ms: number): Promise<void>; close(): Promise<void> },
  ][] = [
    ['task index', (r) => new TaskIndex(DOWN, { maxRetriesPerRequest: r })],
    ['settings store', (r) => new SettingsStore(DOWN, { maxRetriesPerRequest: r })],
    ['state store', (r) => new RedisStateStore(DOWN, { maxRetriesPerRequest: r })],
  ];

  it.each(adapters)('the %s says why, at once when failing fast or at the timeout', async (_, open) => {
    for (const [retries, timeout] of [
      [0, 5000],
      [undefined, 500],
    ] as const) {
      const adapter = open(retries);
      try {
        const started = Date.now();
        const err = await failure(adapter.ping(timeout));
        expect(err).toBeInstanceOf(StateError);
        expect(err.code).toBe('STATE_UNAVAILABLE');
        expect(err.message).toMatch(why);
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        await adapter.close().catch(() => undefined);
      }
    }
  });
});

describe('the Redis broker with Redis unreachable', () => {
  it('fails a ping at once when it fails fast, its queue reads and broadcasts, with a BrokerError naming the URL', async () => {
    const broker = new RedisBroker(DOWN, { maxRetriesPerRequest: 0 });
    try {
      const started = Date.now();
      const ping = await failure(broker.ping(5000));
      expect(ping).toBeInstanceOf(BrokerError);
      expect(ping.message).toMatch(
        /^cannot reach the broker at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0 \(connect ECONNREFUSED 127\.0\.0\.1:1\): is Redis running there\?$/,
      );
      expect(Date.now() - started).toBeLessThan(4000);
      const message: OutgoingMessage = {
        body: '{}',
        headers: {},
        properties: { correlation_id: 'c', priority: 0, delivery_mode: 2 },
        contentType: 'application/json',
        contentEncoding: 'utf-8',
      };
      for (const call of [
        () => broker.queueLength('q'),
        () => broker.purge('q'),
        () => broker.broadcast(PIDBOX_EXCHANGE, '', message),
        () => broker.publishDirect(REPLY_EXCHANGE, 'r', message),
        // The contract: a consumer's reserve rejects with a BrokerError too, never ioredis' own error.
        () => broker.consumer({ consumerId: 'c', queues: ['q'] }).reserve(1),
      ]) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(BrokerError);
        expect(err.code).toBe('BROKER_UNAVAILABLE');
        expect(err.message).toBe(`Redis is not reachable at ${MASKED}`);
      }
    } finally {
      await broker.close().catch(() => undefined);
    }
  });
});

describe('the Redis boundary', () => {
  const prefix = uniquePrefix();
  afterAll(() => deleteMatching(REDIS_URL, `${prefix}*`));

  it('lets Redis refusing a command through unchanged (it is not unavailability)', async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      await redis.set(`${prefix}s`, 'x');
      const boundary = redisBoundary(REDIS_URL, StateError);
      const err = await boundary.run(() => redis.lpush(`${prefix}s`, 'y')).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(LovageError);
      expect((err as Error).message).toMatch(/WRONGTYPE/);
    } finally {
      redis.disconnect();
    }
  });

  it('guards every method of a store object', async () => {
    const redis = new Redis(DOWN, { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      const store = redisBoundary(DOWN, StateError).guard({
        label: 'records',
        read: (key: string) => redis.get(key),
      });
      expect(store.label).toBe('records');
      const err = await failure(store.read('x'));
      expect(err).toBeInstanceOf(StateError);
      expect(err.message).toBe(`Redis is not reachable at ${MASKED}`);
    } finally {
      redis.disconnect();
    }
  });

  it('ping answers when Redis does', async () => {
    const index = new TaskIndex(REDIS_URL, { prefix });
    const store = new SettingsStore(REDIS_URL, { prefix });
    try {
      await index.ping(2000);
      await store.ping(2000);
    } finally {
      await Promise.all([index.close(), store.close()]);
    }
  });

  it('names a connection given as a client by its options, password masked', () => {
    const redis = new Redis('redis://:secret@127.0.0.1:6380/3', { lazyConnect: true });
    expect(redisDisplayUrl(redis)).toBe('redis://:****@127.0.0.1:6380/3');
    redis.disconnect();
    const tls = new Redis('rediss://127.0.0.1:6380/2', { lazyConnect: true });
    expect(redisDisplayUrl(tls)).toBe('rediss://127.0.0.1:6380/2');
    tls.disconnect();
  });
});
