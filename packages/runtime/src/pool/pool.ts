/**
 * The pool contract: where task functions run. The worker owns the broker, acks and results; a pool only
 * executes a job and reports its outcome as plain data, so the same contract fits the event loop (async),
 * worker threads and child processes.
 */
import type { SerializedException } from '../backend/meta';
import type { TaskRequest } from '../protocol/message';

export interface Job {
  request: TaskRequest;
  /** Seconds, or null: the soft limit fires the task's AbortSignal. */
  softTimeLimit: number | null;
  /** Seconds, or null: the hard limit ends the task with TimeLimitExceeded. */
  timeLimit: number | null;
  hostname: string;
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

export interface Pool {
  readonly kind: string;
  start(): Promise<void>;
  execute(job: Job): Promise<JobOutcome>;
  /** Stops a running job (revoke with terminate); it ends as REVOKED. Returns false when not running here. */
  terminate(taskId: string): boolean;
  stop(): Promise<void>;
}
