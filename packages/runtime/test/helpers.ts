/**
 * Shared helpers for tests against real services. The broker is the one this run chose (`TEST_BROKER`,
 * `TEST_BROKER_URL`: see src/testing/test-broker.ts); results and the state store are on the machine's Redis.
 * Every app gets its own key prefix (`test-<uuid>:`) and queue, and cleanup deletes only what that app
 * created: its queue through the broker's purge, keys under its prefix in the state store's database and the
 * result keys of the task ids it saw. Nothing here ever flushes a database.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, expect } from 'vitest';
import {
  createApp,
  resultKey,
  TaskFailedError,
  Worker,
  type App,
  type CreateAppOptions,
  type WorkerEvents,
  type WorkerOptions,
} from '../src';
import { resolveTestBroker, TEST_REDIS_URL } from '../src/testing/test-broker';

const testBroker = resolveTestBroker(process.env);
/** The broker under test: broker-neutral tests use this. */
export const BROKER_URL = testBroker.url;
/** The machine's Redis, DB 0: what tests of the Redis adapter itself (`*.redis.test.ts`) use, whatever the run's broker. */
export const REDIS_URL = TEST_REDIS_URL;
/** Where the state store lives (the broker's URL on Redis, as by default; else Redis DB 0). */
export const STATE_URL = testBroker.stateUrl;
export const BACKEND_URL = testBroker.backendUrl;

export const silentLogger = () => pino({ level: 'silent' });

export function uniquePrefix(): string {
  return `test-${randomUUID()}:`;
}

/** Deletes every key matching `pattern` (SCAN + DEL), never the whole database. */
export async function deleteMatching(url: string, pattern: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export async function deleteResults(ids: Iterable<string>): Promise<void> {
  const keys = [...ids].map(resultKey);
  if (keys.length === 0) return;
  const redis = new Redis(BACKEND_URL, { lazyConnect: true });
  try {
    await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export interface TestAppOptions {
  visibilityTimeout?: number;
  pollInterval?: number;
  /** Seconds results are kept (86400 unless given; null keeps them forever). */
  resultExpires?: number | null;
  taskDefaults?: CreateAppOptions['taskDefaults'];
  taskSendSentEvent?: boolean;
  /** The broker URL: the run's broker unless given (a Redis-only test passes `REDIS_URL`). */
  broker?: string;
  /** More broker transport options (an AMQP test's `consumerTimeout`, `queueType`, `deliveryLimit`). */
  transport?: NonNullable<CreateAppOptions['brokerTransportOptions']>;
}

export interface TestApp {
  app: App;
  prefix: string;
  /** A queue name unique to this app; also the app's default queue. */
  queue: string;
  /** A worker on this app's queue (concurrency 4 unless given), not started yet. */
  worker(options?: WorkerOptions): Worker;
  /** A started worker. */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** Remembers a task id so cleanup deletes its result key. Returns its argument. */
  track<T extends { id: string }>(handle: T): T;
  cleanup(): Promise<void>;
}

export function createTestApp(options: TestAppOptions = {}): TestApp {
  const prefix = uniquePrefix();
  const queue = `q-${randomUUID()}`;
  const broker = options.broker ?? BROKER_URL;
  // Named, so a broker that cannot hold it (AMQP) still has one; on Redis it is the broker's URL, the default.
  const state = broker === BROKER_URL ? STATE_URL : broker.startsWith('redis') ? broker : REDIS_URL;
  const app = createApp({
    broker,
    backend: BACKEND_URL,
    state,
    defaultQueue: queue,
    resultExpires: options.resultExpires === undefined ? 86400 : options.resultExpires,
    brokerTransportOptions: {
      globalKeyprefix: prefix,
      visibilityTimeout: options.visibilityTimeout ?? 30,
      pollInterval: options.pollInterval ?? 1,
      // AMQP queues honour priorities only when declared with x-max-priority (Redis always does).
      ...(testBroker.kind === 'amqp' ? { maxPriority: 10 } : {}),
      ...options.transport,
    },
    taskDefaults: options.taskDefaults ?? {},
    taskSendSentEvent: options.taskSendSentEvent ?? false,
    logger: silentLogger(),
  });
  const workers: Worker[] = [];
  const ids = new Set<string>();
  const worker = (opts: WorkerOptions = {}) => {
    const w = new Worker(app, { queues: [queue], concurrency: 4, ...opts });
    // Every task a worker sees may have a stored result; remember its id for cleanup.
    w.on('task-received', (req) => ids.add(req.id));
    workers.push(w);
    return w;
  };
  return {
    app,
    prefix,
    queue,
    worker,
    async startWorker(opts) {
      const w = worker(opts);
      await w.start();
      return w;
    },
    track(handle) {
      ids.add(handle.id);
      return handle;
    },
    async cleanup() {
      // Cold: a test that failed half-way may leave a task that never settles.
      await Promise.all(workers.map((w) => w.stop({ cold: true })));
      // The queue through the broker; on AMQP the run's vhost goes at the end with anything else left.
      await app.broker.purge(queue).catch(() => undefined);
      await app.close();
      // The state store's keys (and, on Redis, the broker's own under the same prefix).
      await deleteMatching(state, `${prefix}*`);
      await deleteResults(ids);
    },
  };
}

/** A `createTestApp` whose apps are cleaned up after each test of the calling file. */
export function useTestApps(): (options?: TestAppOptions) => TestApp {
  const created: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((t) => t.cleanup()));
  });
  return (options) => {
    const t = createTestApp(options);
    created.push(t);
    return t;
  };
}

/** Polls `check` until it returns a value other than undefined/false, or rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {},
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The next `event` from a worker whose first argument passes `filter`; rejects after `timeoutMs`. */
export function nextEvent<K extends keyof WorkerEvents>(
  worker: Worker,
  event: K,
  filter: (...args: WorkerEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<WorkerEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: WorkerEvents[K]) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      worker.off(event, listener as never);
      resolve(args);
    };
    const timer = setTimeout(() => {
      worker.off(event, listener as never);
      reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.on(event, listener as never);
  });
}

/** A promise and the function that resolves it, for tasks that wait on the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}

/** Awaits a promise that must reject with a TaskFailedError (a task's failure seen through `get`). */
export async function rejection(p: Promise<unknown>): Promise<TaskFailedError> {
  const err = await p.then(
    () => {
      throw new Error('expected the task to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailedError);
  return err as TaskFailedError;
}
