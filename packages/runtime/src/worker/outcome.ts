/**
 * How a task's outcome is told: one method per outcome (started, succeeded, failed, retried, revoked), each
 * storing the result, emitting the worker's event and sending Celery's task event, in that order.
 */
import { NotRegistered, TaskRevokedError, WorkerLostError } from '../errors';
import { saferepr } from '../protocol/repr';
import type { JobOutcome } from '../pool/pool';
import { excRepr, serializeException } from '../protocol/exceptions';
import type { TaskRequest } from '../protocol/message';
import type { ResolvedTaskOptions } from '../task/task';
import { Canvas } from './canvas';
import type { Held, RevokeReason, WorkerControl } from './types';

type Reporting = Pick<WorkerControl, 'app' | 'hostname' | 'log' | 'events' | 'settings' | 'emit'>;
type Outcome<K extends JobOutcome['kind']> = Extract<JobOutcome, { kind: K }>;

export class Outcomes {
  /** What a finished task sends on: callbacks, chain steps, errbacks, a chord's body. */
  private readonly canvas: Canvas;

  constructor(private readonly w: Reporting) {
    this.canvas = new Canvas(w);
  }

  /** STARTED is stored only for tasks with `trackStarted` (Celery: task_track_started). */
  async started(h: Held, opts: ResolvedTaskOptions): Promise<void> {
    const { request } = h;
    this.w.emit('task-started', request, h);
    this.w.events?.task('task-started', { uuid: request.id });
    if (opts.trackStarted && !ignoresResult(h)) {
      await this.w.app.backend?.store(
        request.id,
        'STARTED',
        JSON.stringify({ pid: process.pid, hostname: this.w.hostname }),
        { expires: this.w.settings.resultExpires },
      );
    }
  }

  async succeeded(h: Held, outcome: Outcome<'success'>): Promise<void> {
    const { request } = h;
    // As Celery: the workflow's next tasks are sent before the result is stored, the chord counted after.
    // A task outside any workflow (most) skips the canvas altogether.
    const { callbacks, chain, chord } = request.embed;
    const children =
      callbacks?.length || chain?.length
        ? await this.canvas.succeeded(request, outcome.resultJson)
        : undefined;
    await this.backend(h)?.store(request.id, 'SUCCESS', outcome.resultJson, this.meta(request, children));
    if (chord) await this.canvas.chordPart(request, 'SUCCESS', outcome.resultJson);
    this.w.emit('task-succeeded', request, outcome, h);
    this.w.events?.task('task-succeeded', {
      uuid: request.id,
      result: resultRepr(outcome.resultJson),
      runtime: outcome.runtime,
    });
  }

  /** FAILURE; a task stopped by `revoke --terminate` reports REVOKED instead. */
  async failed(h: Held, outcome: Outcome<'failure'>): Promise<void> {
    const { request } = h;
    const excJson = JSON.stringify(outcome.exc);
    if (outcome.exc.exc_type === 'TaskRevokedError') {
      await this.backend(h)?.store(request.id, 'REVOKED', excJson, this.meta(request));
      await this.canvas.chordPart(request, 'REVOKED', excJson);
      this.announceRevoked(h, 'terminated');
      return;
    }
    await this.backend(h)?.store(request.id, 'FAILURE', excJson, {
      ...this.meta(request),
      traceback: outcome.traceback,
    });
    await this.canvas.chordPart(request, 'FAILURE', excJson);
    await this.canvas.failed(request, outcome.exc, outcome.traceback);
    const exception = excRepr(outcome.exc);
    this.w.log.warn({ id: request.id, task: request.name, exception }, 'task failed');
    this.w.emit(
      'task-failed',
      request,
      { exception, traceback: outcome.traceback, runtime: outcome.runtime },
      h,
    );
    this.w.events?.task('task-failed', { uuid: request.id, exception, traceback: outcome.traceback ?? '' });
  }

  async retried(h: Held, outcome: Outcome<'retry'>): Promise<void> {
    const { request } = h;
    const eta = new Date(outcome.eta);
    // Re-send first: if we die between the two steps the task may run twice, never zero times.
    await this.w.app.sendTask(request.name, request.args, request.kwargs, {
      taskId: request.id,
      eta,
      expires: request.expires,
      queue: h.delivery.queue,
      priority: request.priority,
      retries: request.retries + 1,
      parentId: request.id,
      rootId: request.rootId,
      embed: request.embed,
      ignoreResult: request.ignoreResult,
      timeLimit: request.timeLimit[0],
      softTimeLimit: request.timeLimit[1],
    });
    const exc = outcome.exc ?? {
      exc_type: 'Retry',
      exc_message: [`Retry at ${eta.toISOString()}`],
      exc_module: 'celery.exceptions',
    };
    await this.backend(h)?.store(request.id, 'RETRY', JSON.stringify(exc), {
      ...this.meta(request),
      traceback: outcome.traceback,
      children: [[[request.id, null], null]],
    });
    this.w.emit('task-retried', request, { exception: outcome.exc ? outcome.exc.exc_type : null, eta }, h);
    this.w.events?.task('task-retried', {
      uuid: request.id,
      exception: excRepr(exc),
      traceback: outcome.traceback ?? '',
    });
  }

  /**
   * A task not run (revoked or expired before it started): REVOKED is stored, then `settle` acknowledges
   * its message. It is announced even when that bookkeeping failed (Redis away), which is logged.
   */
  async discarded(h: Held, reason: RevokeReason, settle: () => Promise<void>): Promise<void> {
    this.w.log.info({ id: h.request.id, task: h.request.name, reason }, 'task discarded');
    try {
      const exc = new TaskRevokedError(reason);
      await this.storeException(h.request, 'REVOKED', exc, h);
      await this.canvas.chordPart(h.request, 'REVOKED', JSON.stringify(serializeException(exc)));
      await settle();
    } catch (err) {
      this.w.log.error({ err: (err as Error).message, id: h.request.id }, 'could not record a revoked task');
    }
    this.announceRevoked(h, reason);
  }

  /** A message naming a task this worker does not know: FAILURE (NotRegistered) before it is dead-lettered. */
  async notRegistered(request: TaskRequest): Promise<void> {
    await this.storeException(request, 'FAILURE', new NotRegistered(request.name));
  }

  /**
   * A message RabbitMQ delivered too often (it killed or stalled its workers each time): FAILURE with Celery's
   * WorkerLostError naming the reason, before it is dead-lettered, so its caller stops waiting.
   */
  async poisoned(request: TaskRequest, reason: string): Promise<void> {
    await this.storeException(
      request,
      'FAILURE',
      new WorkerLostError(`${reason}: not run again; the message is in the dead letters`),
    );
  }

  private announceRevoked(h: Held, reason: RevokeReason): void {
    const { request } = h;
    this.w.emit('task-revoked', request, { reason }, h);
    this.w.events?.task('task-revoked', {
      uuid: request.id,
      terminated: reason === 'terminated',
      signum: reason === 'terminated' ? 15 : null,
      expired: reason === 'expired',
    });
  }

  private async storeException(request: TaskRequest, status: string, err: unknown, h?: Held): Promise<void> {
    if (!this.w.app.backend || (h && ignoresResult(h))) return;
    await this.w.app.backend.store(request.id, status, JSON.stringify(serializeException(err)), {
      traceback: null,
      ...this.meta(request),
    });
  }

  private backend(h: Held) {
    return ignoresResult(h) ? null : this.w.app.backend;
  }

  /** The stored result's context; `children` what it sent on (Celery's result tuples), if anything. */
  private meta(request: TaskRequest, children?: unknown[]) {
    return {
      parentId: request.parentId,
      groupId: request.group,
      expires: this.w.settings.resultExpires,
      children,
    };
  }
}

function ignoresResult(h: Held): boolean {
  return h.def.options.ignoreResult || h.request.ignoreResult;
}

/** Celery's `repr` of a result for task-succeeded events: `5`, `'text'`, `{'a': 1}`. */
function resultRepr(resultJson: string): string {
  try {
    // Cut while it is made (Celery's resultrepr_maxsize): a 10 MB result is not repr'd whole for a 1 KB event.
    return saferepr(JSON.parse(resultJson));
  } catch {
    return resultJson;
  }
}
