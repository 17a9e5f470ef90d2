/**
 * Lifecycle hooks, Celery's worker and task signals (`worker_init`, `worker_process_init`, `task_prerun`, …),
 * typed. A hook runs where its event happens: `workerProcessInit`/`workerProcessShutdown` and the task hooks in
 * every pool process or thread (so each prefork child opens and closes its own connections), `workerInit` and
 * `workerShutdown` once in the worker's main process. With the async pool everything runs in the main process.
 *
 * Hooks run in registration order and are awaited. A failing `workerProcessInit` stops that child (the pool
 * reports it); a failing task hook is logged and does not change the task's outcome.
 */
import type { TaskRequest } from './protocol/message';

export interface WorkerHookInfo {
  /** The worker's node name, `lovage@host`. */
  hostname: string;
  pid: number;
}

export interface HookArgs {
  /** The worker's main process, before it consumes. Celery: worker_init. */
  workerInit: WorkerHookInfo;
  /** Each pool process or thread once the tasks module is loaded, before its first task. Celery: worker_process_init. */
  workerProcessInit: WorkerHookInfo & { pool: string };
  /** Each pool process or thread as it stops (recycled, shrunk or at shutdown). Celery: worker_process_shutdown. */
  workerProcessShutdown: WorkerHookInfo & { pool: string };
  /** The main process after the worker stopped. Celery: worker_shutdown. */
  workerShutdown: WorkerHookInfo;
  /** Before a task runs, where it runs. Celery: task_prerun. */
  taskPrerun: {
    taskId: string;
    task: string;
    args: unknown[];
    kwargs: Record<string, unknown>;
    request: TaskRequest;
  };
  /** After a task ran, whatever the outcome. Celery: task_postrun. */
  taskPostrun: {
    taskId: string;
    task: string;
    args: unknown[];
    kwargs: Record<string, unknown>;
    request: TaskRequest;
    /** SUCCESS, FAILURE, RETRY or REVOKED. */
    state: string;
    /** The return value (SUCCESS) or the error. */
    retval: unknown;
  };
  /** A task failed. Celery: task_failure. */
  taskFailure: {
    taskId: string;
    task: string;
    error: unknown;
    traceback: string | null;
    request: TaskRequest;
  };
  /** A task asked to be retried. Celery: task_retry. */
  taskRetry: { taskId: string; task: string; reason: unknown; eta: Date; request: TaskRequest };
}

export type HookName = keyof HookArgs;
export type Hook<K extends HookName> = (args: HookArgs[K]) => void | Promise<void>;

export class Hooks {
  private readonly table = new Map<HookName, Hook<never>[]>();

  /** Registers a hook; returns a function that removes it. */
  on<K extends HookName>(name: K, hook: Hook<K>): () => void {
    const list = this.table.get(name) ?? [];
    list.push(hook as Hook<never>);
    this.table.set(name, list);
    return () => {
      const i = list.indexOf(hook as Hook<never>);
      if (i >= 0) list.splice(i, 1);
    };
  }

  has(name: HookName): boolean {
    return (this.table.get(name)?.length ?? 0) > 0;
  }

  /** Runs the hooks of `name` in order; the first error rejects. */
  async run<K extends HookName>(name: K, args: HookArgs[K]): Promise<void> {
    const list = this.table.get(name);
    if (!list) return;
    for (const hook of [...list]) await (hook as Hook<K>)(args);
  }
}
