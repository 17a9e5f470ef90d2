/**
 * One message's run: the acknowledgement policy (Celery: on start by default, after the outcome is stored
 * with `acksLate`), a last revoked check, the pool, and the outcome handed to `Outcomes`. A pool process
 * lost mid-task fails the task (WorkerLostError) or, with `acksLate` + `rejectOnWorkerLost`, puts its
 * message back.
 */
import { serializeException } from '../protocol/exceptions';
import type { Consumer } from '../broker/broker';
import { WorkerLostError } from '../errors';
import type { JobOutcome } from '../pool/pool';
import type { ResolvedTaskOptions, TaskDefinition } from '../task/task';
import type { Outcomes } from './outcome';
import type { Held, RevokeReason, WorkerControl } from './types';

type Running = Pick<
  WorkerControl,
  | 'hostname'
  | 'log'
  | 'events'
  | 'emit'
  | 'pool'
  | 'active'
  | 'revoked'
  | 'taskLimits'
  | 'totals'
  | 'processed'
>;

export interface RequestDeps {
  outcomes: Outcomes;
  /** The consumer the message came from (the worker's, while it runs). */
  consumer(): Consumer;
  /** The task's options after the worker's settings. */
  options(def: TaskDefinition): ResolvedTaskOptions;
  /** A slot is free again: wake the loop and start what is ready. */
  freed(): void;
}

export class TaskRunner {
  constructor(
    private readonly w: Running,
    private readonly deps: RequestDeps,
  ) {}

  async run(h: Held): Promise<void> {
    const { w, deps } = this;
    const { request, def, delivery } = h;
    const opts = deps.options(def);
    w.active.set(request.id, h);
    try {
      if (!opts.acksLate) {
        if (!(await deps.consumer().ack(delivery))) {
          // The broker took it back before we acknowledged (a lapsed lease, a closed channel): it is in its
          // queue again and runs there, not here.
          w.log.warn({ id: request.id, task: request.name }, 'not started: the broker took the task back');
          return;
        }
        h.acknowledged = true;
      }
      if (w.revoked.has(request.id)) {
        await this.discard(h, 'revoked');
        return;
      }
      h.startedAt = Date.now();
      await deps.outcomes.started(h, opts);
      const outcome = await this.execute(h, opts);
      if (outcome === null) return;
      if (w.active.get(request.id) !== h) return; // abandoned by a cold stop
      await this.report(h, outcome);
      if (opts.acksLate && !(await deps.consumer().ack(delivery))) {
        // At least once: the broker took the message back while the task ran, so it runs again elsewhere.
        w.log.warn(
          { id: request.id, task: request.name },
          'acknowledgement refused: the broker took the task back while it ran, so it will run again',
        );
      }
      w.processed++;
      w.totals.set(def.name, (w.totals.get(def.name) ?? 0) + 1);
    } catch (err) {
      // The result or ack could not be written (Redis away). With acksLate the message is still in flight
      // and will run again; without, the task ran and only its bookkeeping is lost.
      w.log.error({ err: (err as Error).message, id: request.id }, 'could not record the outcome of a task');
    } finally {
      if (w.active.get(request.id) === h) w.active.delete(request.id);
      deps.freed();
    }
  }

  /** A task not to run (revoked, expired): REVOKED stored, its message acknowledged, announced. */
  discard(h: Held, reason: RevokeReason): Promise<void> {
    return this.deps.outcomes.discarded(h, reason, async () => {
      if (!h.acknowledged) await this.deps.consumer().ack(h.delivery);
      h.acknowledged = true;
    });
  }

  /** The pool's outcome; null when there is nothing more to report (requeued, or abandoned). */
  private async execute(h: Held, opts: ResolvedTaskOptions): Promise<JobOutcome | null> {
    const { w } = this;
    const { request, def, delivery } = h;
    const [hard, soft] = request.timeLimit;
    const limits = w.taskLimits.get(def.name);
    try {
      return await w.pool.execute({
        request,
        timeLimit: hard ?? limits?.timeLimit ?? opts.timeLimit,
        softTimeLimit: soft ?? limits?.softTimeLimit ?? opts.softTimeLimit,
        hostname: w.hostname,
        overrides: { maxRetries: opts.maxRetries, defaultRetryDelay: opts.defaultRetryDelay },
      });
    } catch (err) {
      if (!(err instanceof WorkerLostError)) throw err;
      if (w.active.get(request.id) !== h) return null;
      if (opts.acksLate && opts.rejectOnWorkerLost) {
        // The message is still ours, unacknowledged: it goes back to the queue and runs again.
        w.log.warn({ id: request.id, task: request.name }, 'pool process lost; task requeued');
        await this.deps.consumer().requeue(delivery, 'back');
        w.emit('task-rejected', request, h);
        w.events?.task('task-rejected', { uuid: request.id, requeue: true });
        return null;
      }
      return {
        kind: 'failure',
        exc: serializeException(err),
        traceback: null,
        runtime: (Date.now() - (h.startedAt ?? Date.now())) / 1000,
      };
    }
  }

  private report(h: Held, outcome: JobOutcome): Promise<void> {
    const { outcomes } = this.deps;
    switch (outcome.kind) {
      case 'success':
        return outcomes.succeeded(h, outcome);
      case 'failure':
        return outcomes.failed(h, outcome);
      case 'retry':
        return outcomes.retried(h, outcome);
    }
  }
}
