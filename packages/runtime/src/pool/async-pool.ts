/**
 * The async pool: tasks run concurrently on the worker's own event loop. Right for I/O-bound work
 * (`concurrency` 100 is normal). A task that blocks the loop blocks the worker, and a hard time limit can
 * only fail and abandon a task, not stop it: CPU-bound work belongs in the prefork or threads pool.
 */
import { TaskRevokedError } from '../errors';
import type { TaskDefinition } from '../task/task';
import { executeTask, type Execution } from './execute';
import type { Job, JobOutcome, Pool } from './pool';

export class AsyncPool implements Pool {
  readonly kind = 'async';
  private readonly running = new Map<string, Execution>();

  constructor(private readonly registry: ReadonlyMap<string, TaskDefinition>) {}

  async start(): Promise<void> {}

  async execute(job: Job): Promise<JobOutcome> {
    const def = this.registry.get(job.request.name);
    if (!def) throw new Error(`task ${job.request.name} is not registered in this pool`);
    const exec = executeTask(def, job);
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

  async stop(): Promise<void> {}
}
