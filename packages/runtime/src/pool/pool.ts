/**
 * The pool contract: where task functions run. The worker owns the broker, acks and results; a pool only
 * executes a job and reports its outcome as plain data, so the same contract fits the event loop (async),
 * worker threads and child processes.
 */
import type { SerializedException } from '../protocol/exceptions';
import type { TaskRequest } from '../protocol/message';

export interface Job {
  request: TaskRequest;
  /** Seconds, or null: the soft limit fires the task's AbortSignal. */
  softTimeLimit: number | null;
  /** Seconds, or null: the hard limit ends the task with TimeLimitExceeded. */
  timeLimit: number | null;
  hostname: string;
  /** Worker settings that replace the task's own retry defaults (for tasks that did not set them). */
  overrides?: { maxRetries?: number | null; defaultRetryDelay?: number };
}

export type JobOutcome =
  | { kind: 'success'; resultJson: string; runtime: number }
  | { kind: 'failure'; exc: SerializedException; traceback: string | null; runtime: number }
  | {
      kind: 'retry';
      eta: number;
      exc: SerializedException | null;
      traceback: string | null;
      runtime: number;
    };

export interface PoolInfo {
  /** Execution slots: child processes, threads, or (async) tasks at once. */
  'max-concurrency': number;
  /** Pids of the pool's processes (prefork), or the worker's own pid. Celery: stats.pool.processes. */
  processes: number[];
  'max-tasks-per-child': number | null;
  'max-memory-per-child': number | null;
  /** Children or threads started since the pool started, replacements included. */
  spawned: number;
  /** Children or threads that ended without being asked to (crash, hard time limit, recycling excluded). */
  lost: number;
}

export interface Pool {
  readonly kind: 'async' | 'threads' | 'prefork';
  /** Jobs that can run at once: children, threads, or async slots. */
  readonly size: number;
  /** Starts `size` executors; rejects when they cannot start (a tasks module that fails to load in a child). */
  start(): Promise<void>;
  execute(job: Job): Promise<JobOutcome>;
  /** Stops a running job (revoke with terminate); it ends as REVOKED. Returns false when not running here. */
  terminate(taskId: string): boolean;
  /**
   * Changes the number of executors at run time (remote control `pool_grow`/`pool_shrink`, the console).
   * Shrinking stops idle executors first and lets busy ones finish their job before they stop.
   */
  resize(size: number): Promise<void>;
  info(): PoolInfo;
  /** The pid of the process running a task (inspect `active`'s worker_pid), or null when it runs nowhere here. */
  pidOf(taskId: string): number | null;
  /** Stops every executor (running `workerProcessShutdown` in each); running jobs are abandoned. */
  stop(): Promise<void>;
}
