/**
 * Messages between a pool and its executors (prefork children over JSON IPC, threads over postMessage).
 * The parent owns the broker and the message; an executor only runs the job it is given and answers with
 * a JobOutcome, which is plain JSON already. Everything here survives JSON IPC: dates travel as ISO strings
 * and errors as `{name, message, stack}` (an Error would arrive as `{}` over JSON, and as a bare `Error`
 * losing its class over structured clone).
 */
import type { Job, JobOutcome, TaskRequest } from '@lovage/runtime';

export type ExecutorKind = 'prefork' | 'threads';

/** What an executor needs to start: given as argv (children) or workerData (threads). */
export interface ExecutorInit {
  /** Absolute path of the tasks module. */
  appModule: string;
  /** The worker's node name, for hooks and task contexts. */
  hostname: string;
  pool: ExecutorKind;
}

/** A Job as sent to an executor: no hard limit (the parent enforces it by killing), dates as ISO strings. */
export interface WireJob {
  request: Omit<TaskRequest, 'eta' | 'expires'> & { eta: string | null; expires: string | null };
  softTimeLimit: number | null;
  hostname: string;
  /** The worker's retry defaults (its settings), which the executor applies over the task's own. */
  overrides?: Job['overrides'];
}

export interface WireError {
  name: string;
  message: string;
  stack: string | null;
  code: string | null;
}

export type ParentMessage = { type: 'job'; job: WireJob } | { type: 'shutdown' };

export type ChildMessage =
  /** The tasks module is loaded and the workerProcessInit hooks ran. */
  | { type: 'ready' }
  /** Loading the module or a workerProcessInit hook failed; the executor exits next. */
  | { type: 'init-failed'; error: WireError }
  /** `memory` is the figure compared with maxMemoryPerChild, in bytes (RSS for a child, heap for a thread). */
  | { type: 'done'; taskId: string; outcome: JobOutcome; memory: number }
  /** A line for the worker's log (the parent adds which executor it came from). */
  | { type: 'log'; level: 'warn' | 'error'; msg: string; fields: Record<string, string | WireError> };

export function toWireJob(job: Job): WireJob {
  const { eta, expires, ...rest } = job.request;
  return {
    request: {
      ...rest,
      eta: eta ? eta.toISOString() : null,
      expires: expires ? expires.toISOString() : null,
    },
    softTimeLimit: job.softTimeLimit,
    hostname: job.hostname,
    ...(job.overrides ? { overrides: job.overrides } : {}),
  };
}

/** The job the executor runs: `timeLimit` is null so that executeTask only handles the soft limit. */
export function fromWireJob(wire: WireJob): Job {
  const { eta, expires, ...rest } = wire.request;
  return {
    request: { ...rest, eta: eta ? new Date(eta) : null, expires: expires ? new Date(expires) : null },
    softTimeLimit: wire.softTimeLimit,
    timeLimit: null,
    hostname: wire.hostname,
    ...(wire.overrides ? { overrides: wire.overrides } : {}),
  };
}

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      stack: err.stack ?? null,
      code: typeof code === 'string' ? code : null,
    };
  }
  return { name: 'Error', message: String(err), stack: null, code: null };
}

export function fromWireError(wire: WireError): Error {
  const err = new Error(wire.message);
  err.name = wire.name;
  if (wire.stack) err.stack = wire.stack;
  if (wire.code) (err as Error & { code?: string }).code = wire.code;
  return err;
}
