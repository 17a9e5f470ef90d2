/**
 * The async pool: tasks run concurrently on the worker's own event loop. Right for I/O-bound work
 * (`concurrency` 100 is normal). A task that blocks the loop blocks the worker, and a hard time limit can
 * only fail and abandon a task, not stop it: CPU-bound work belongs in the prefork or threads pool.
 */
import type { Hooks } from '../hooks';
import type { Logger } from '../logging';
import { TaskRevokedError } from '../errors';
import type { TaskDefinition } from '../task/task';
import { executeTask, type Execution } from './execute';
import type { Job, JobOutcome, Pool, PoolInfo } from './pool';

export interface AsyncPoolOptions {
  size?: number;
  hooks?: Hooks;
  hostname?: string;
  logger?: Logger;
}

export class AsyncPool implements Pool {
  readonly kind = 'async';
  size: number;
  private readonly running = new Map<string, Execution>();
  private started = false;

  constructor(
    private readonly registry: ReadonlyMap<string, TaskDefinition>,
    private readonly options: AsyncPoolOptions = {},
  ) {
    this.size = Math.max(1, options.size ?? 100);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.options.hooks?.run('workerProcessInit', this.hookInfo());
  }

  private hookInfo() {
    return { hostname: this.options.hostname ?? '', pid: process.pid, pool: this.kind };
  }

  async execute(job: Job): Promise<JobOutcome> {
    const def = this.registry.get(job.request.name);
    if (!def) throw new Error(`task ${job.request.name} is not registered in this pool`);
    const exec = executeTask(def, job, {
      hooks: this.options.hooks,
      onHookError: (hook, err) =>
        this.options.logger?.error({ err, hook, id: job.request.id }, 'a task hook failed'),
    });
    this.running.set(job.request.id, exec);
    try {
      return await exec.outcome;
    } finally {
      this.running.delete(job.request.id);
    }
  }

  terminate(taskId: string): boolean {
    const exec = this.running.get(taskId);
    if (!exec) return false;
    exec.abort(new TaskRevokedError('terminated'));
    return true;
  }

  async resize(size: number): Promise<void> {
    this.size = Math.max(1, Math.trunc(size));
  }

  info(): PoolInfo {
    return {
      'max-concurrency': this.size,
      processes: [process.pid],
      'max-tasks-per-child': null,
      'max-memory-per-child': null,
      spawned: 1,
      lost: 0,
    };
  }

  pidOf(taskId: string): number | null {
    return this.running.has(taskId) ? process.pid : null;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.options.hooks?.run('workerProcessShutdown', this.hookInfo());
  }
}
