/**
 * A task's definition: its name, function and options. The app binds definitions to a client
 * (`delay`/`applyAsync`); the worker looks them up by name and runs them.
 */
import { errorTypeName } from '../errors';
import type { TaskRequest } from '../protocol/message';

/** An error class, or an error name (`'TypeError'`), that `autoretryFor` matches with `instanceof` or by name. */
export type ErrorMatcher = string | (abstract new (...args: never[]) => Error);

export interface TaskOptions {
  /** Queue the task is sent to. Celery: `queue` / task_default_queue (`celery`). */
  queue?: string;
  /** Acknowledge after the task finishes instead of when it starts. Celery: acks_late (false). */
  acksLate?: boolean;
  /** How many times `ctx.retry()` may re-send the task; null means forever. Celery: max_retries (3). */
  maxRetries?: number | null;
  /** Seconds before a retry when none is given. Celery: default_retry_delay (180). */
  defaultRetryDelay?: number;
  /** Retry errors of these types automatically. Celery: autoretry_for. */
  autoretryFor?: readonly ErrorMatcher[];
  /** Exponential backoff for automatic retries: true (factor 1 s) or a factor in seconds. Celery: retry_backoff. */
  retryBackoff?: boolean | number;
  /** Cap of the backoff in seconds. Celery: retry_backoff_max (600). */
  retryBackoffMax?: number;
  /** Randomize backoff delays. Celery: retry_jitter (true). */
  retryJitter?: boolean;
  /** `'10/s'`, `'100/m'`, `'1000/h'` or tasks per second, per worker. Celery: rate_limit. */
  rateLimit?: string | number | null;
  /** Do not store the result. Celery: ignore_result (false). */
  ignoreResult?: boolean;
  /** Seconds after sending (or a Date) after which the task is revoked instead of run. Celery: expires. */
  expires?: number | Date | null;
  /** Message priority 0-9 (Redis: 0 is consumed first). Celery: priority. */
  priority?: number;
  /** Hard time limit in seconds. Celery: time_limit. */
  timeLimit?: number | null;
  /** Soft time limit in seconds: the task's AbortSignal fires. Celery: soft_time_limit. */
  softTimeLimit?: number | null;
  /** Store STARTED when a worker begins the task. Celery: track_started (false). */
  trackStarted?: boolean;
  /**
   * With `acksLate`: when the pool process running the task dies (crash, OOM kill), put the message back on
   * the queue instead of failing the task with WorkerLostError. Celery: reject_on_worker_lost (false).
   */
  rejectOnWorkerLost?: boolean;
}

export type ResolvedTaskOptions = Required<Omit<TaskOptions, 'expires' | 'rateLimit'>> & {
  expires: number | Date | null;
  rateLimit: string | number | null;
};

export const TASK_DEFAULTS: ResolvedTaskOptions = {
  queue: 'celery',
  acksLate: false,
  maxRetries: 3,
  defaultRetryDelay: 180,
  autoretryFor: [],
  retryBackoff: false,
  retryBackoffMax: 600,
  retryJitter: true,
  rateLimit: null,
  ignoreResult: false,
  expires: null,
  priority: 0,
  timeLimit: null,
  softTimeLimit: null,
  trackStarted: false,
  rejectOnWorkerLost: false,
};

export interface RetryOptions {
  /** Seconds from now. Default: the task's `defaultRetryDelay`. */
  countdown?: number;
  /** Absolute time of the retry. */
  eta?: Date;
  /** The error that caused the retry; raised as the final FAILURE when retries run out. */
  exc?: unknown;
  /** Override the task's `maxRetries` for this call. */
  maxRetries?: number | null;
}

/** What a running task sees: its request, an AbortSignal for the soft time limit, and `retry`. */
export interface TaskContext {
  readonly id: string;
  readonly name: string;
  readonly retries: number;
  readonly kwargs: Record<string, unknown>;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly hostname: string;
  readonly request: TaskRequest;
  /** The message came back unacknowledged before (AMQP); null where the broker does not say (Redis). */
  readonly redelivered: boolean | null;
  /** Earlier unacknowledged deliveries (quorum queues' `x-delivery-count`); null where not counted. */
  readonly deliveryCount: number | null;
  /** Fires when the soft time limit passes or the task is revoked with terminate. */
  readonly signal: AbortSignal;
  /** Re-sends this task later and stops the current run. Throws; use as `throw ctx.retry(...)` or `ctx.retry(...)`. */
  retry(options?: RetryOptions): never;
}

export type TaskFn<A extends unknown[], R> = (ctx: TaskContext, ...args: A) => R | Promise<R>;

export interface TaskDefinition<A extends unknown[] = unknown[], R = unknown> {
  readonly name: string;
  readonly fn: TaskFn<A, R>;
  readonly options: ResolvedTaskOptions;
  /** Options the task set itself (not inherited from the app's defaults); worker settings fill in the rest. */
  readonly explicit?: ReadonlySet<keyof TaskOptions>;
}

export function matchesError(err: unknown, matchers: readonly ErrorMatcher[]): boolean {
  return matchers.some((m) =>
    typeof m === 'string'
      ? err instanceof Error && errorTypeName(err) === m
      : err instanceof (m as abstract new () => Error),
  );
}
