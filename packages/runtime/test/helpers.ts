/**
 * Shared helpers for tests against the real Redis on 127.0.0.1:6379. Every app gets its own key prefix
 * (`test-<uuid>:`) and queue, and cleanup deletes only what that app created: keys under its prefix in the
 * broker database and the result keys of the task ids it saw. Nothing here ever flushes a database.
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

export const BROKER_URL = 'redis://127.0.0.1:6379/0';
export const BACKEND_URL = 'redis://127.0.0.1:6379/1';

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
  const app = createApp({
    broker: BROKER_URL,
    backend: BACKEND_URL,
    defaultQueue: queue,
    resultExpires: options.resultExpires === undefined ? 86400 : options.resultExpires,
    brokerTransportOptions: {
      globalKeyprefix: prefix,
      visibilityTimeout: options.visibilityTimeout ?? 30,
      pollInterval: options.pollInterval ?? 1,
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
      await app.close();
      await deleteMatching(BROKER_URL, `${prefix}*`);
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
