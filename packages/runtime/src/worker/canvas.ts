/**
 * Celery's canvas, worker side, as Celery 5.2.6 does it (app/trace.py `build_tracer`, backends/base.py
 * `mark_as_failure` and `_call_task_errbacks`, backends/redis.py `on_chord_part_return`): what a finished task
 * sends on.
 *
 * - Success: each of its `callbacks`, and the next step of its `chain` (the list's last element; the rest
 *   travel with it as its own `chain`), with the result prepended to their arguments unless immutable and
 *   this task as their parent. Sent before the result is stored, as Celery does.
 * - Failure: the chain stops; its remaining steps are stored as FAILURE with this task's exception (whoever
 *   waits on the chain's end hears of it), and its `errbacks` are sent with this task's id as argument (Celery's
 *   old-style errback; the new style, `(request, exc, traceback)`, is only for Python functions that Celery calls
 *   inline in its own worker).
 * - A chord header task (`chord` in the embed, a `group` header) is counted in the result backend; the one that
 *   completes the header sends the body with every result in header order, or, when a part failed, stores the
 *   body's FAILURE as ChordError naming that part and sends the body's errbacks.
 *
 * A group as a callback or chain step is sent member by member, a chord (`chain(a, group(b, c), d)`) as its
 * header with the body attached. Other composite signatures (a chain as a step, a chord with a composite header
 * task or steps after it) are not run here: they are logged, and stored as FAILURE (NotImplementedError) under
 * their task id when they have one, so nobody waits for them; so is a step with malformed options (ValueError).
 */
import { randomUUID } from 'node:crypto';
import type { ResultTuple } from '../app/async-result';
import type { ChordEntry } from '../backend/backend';
import { MalformedMessageError } from '../errors';
import { excRepr, type SerializedException } from '../protocol/exceptions';
import { decodeSignature, type Signature, type TaskRequest } from '../protocol/message';
import { isRecord, sendOptions, signatureList, str, type SendContext } from '../canvas/options';
import type { WorkerControl } from './types';

type CanvasHost = Pick<WorkerControl, 'app' | 'log' | 'settings'>;

/** A canvas this worker does not run yet (Celery's worker would): stored as NotImplementedError. */
class UnsupportedCanvas extends Error {}

/** States that fail a chord (Celery: PROPAGATE_STATES). */
const PROPAGATE = new Set(['FAILURE', 'REVOKED']);

/** A chord header task as counted: a request, or a chain step that will not run (Celery's chain_elem_ctx). */
type ChordMember = Pick<TaskRequest, 'id' | 'group' | 'groupIndex' | 'rootId'> & { chord: Signature | null };

/** Where a signature is sent from: its parent, its workflow's root, and what the step adds. */
type SendFrom = SendContext & { parentId: string; rootId: string };

export class Canvas {
  constructor(private readonly w: CanvasHost) {}

  /**
   * A task succeeded with `resultJson`: sends its callbacks and its chain's next step. Returns what was sent as
   * Celery's result tuples, the task's `children` (Celery's tracer adds them to the request before storing the
   * result): several plain callbacks as one group, as Celery sends them.
   */
  async succeeded(request: TaskRequest, resultJson: string): Promise<ResultTuple[]> {
    const { callbacks, chain } = request.embed;
    if (!callbacks?.length && !chain?.length) return [];
    const result: unknown = JSON.parse(resultJson);
    const from = { parentId: request.id, rootId: request.rootId };
    const children: ResultTuple[] = [];
    if (callbacks?.length) {
      const group = callbacks.length > 1 ? randomUUID() : null;
      const plain: ResultTuple[] = [];
      for (const sig of callbacks) {
        const sent = await this.send(sig, [result], { ...from, group });
        if (sent) (sig.subtask_type || !group ? children : plain).push(sent);
      }
      if (group && plain.length) children.push([[group, null], plain]);
    }
    const next = chain?.at(-1);
    if (chain && next) {
      const sent = await this.send(next, [result], { ...from, chain: chain.slice(0, -1) });
      if (sent) children.push(sent);
    }
    return children;
  }

  /** A task failed with `exc`: its chain stops with the same failure and its errbacks are sent. */
  async failed(request: TaskRequest, exc: SerializedException, traceback: string | null): Promise<void> {
    const excJson = JSON.stringify(exc);
    for (const step of request.embed.chain ?? []) {
      const id = step.options.task_id;
      if (typeof id !== 'string') continue;
      await this.storeFailure(id, excJson, traceback);
      // A step that is a chord header task (a chain inside a chord's header) still counts, or the chord stalls.
      const { chord, group_id: group, group_index: index } = step.options;
      if (!chord || typeof group !== 'string') continue;
      try {
        const body = decodeSignature(chord, 'options.chord');
        const groupIndex = typeof index === 'number' ? index : null;
        await this.countPart(
          { id, group, groupIndex, rootId: request.rootId, chord: body },
          'FAILURE',
          excJson,
        );
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.w.log.error({ id, group, err: err.message }, 'chord part of a failed chain not counted');
      }
    }
    await this.sendErrbacks(request.embed.errbacks ?? [], request.id, request.rootId);
  }

  /**
   * A chord header task finished in `status` (any ready state): counts it, and sends (or fails) the body when
   * it was the last. Nothing for a task outside a chord.
   */
  async chordPart(request: TaskRequest, status: string, resultJson: string): Promise<void> {
    const { chord } = request.embed;
    if (!chord || !request.group) return;
    const { id, group, groupIndex, rootId } = request;
    await this.countPart({ id, group, groupIndex, rootId, chord }, status, resultJson);
  }

  private async countPart(part: ChordMember, status: string, resultJson: string): Promise<void> {
    const body = part.chord;
    const groupId = part.group;
    if (!body || !groupId) return;
    const backend = this.w.app.backend;
    if (!backend?.chordPartReturn || !backend.chordDone) {
      this.w.log.error(
        { id: part.id, group: groupId, body: body.task },
        'chord header task finished but the result backend does not count chords: the body will not run',
      );
      return;
    }
    const entries = await backend.chordPartReturn({
      groupId,
      taskId: part.id,
      groupIndex: part.groupIndex,
      status,
      resultJson,
    });
    if (!entries) return;
    try {
      const failed = entries.find((e) => PROPAGATE.has(e.status));
      if (failed) await this.chordError(body, failed, groupId);
      else
        await this.send(
          body,
          [entries.map((e) => e.result)],
          { parentId: part.id, rootId: part.rootId },
          // The body is no group member (Celery sends it with group null).
          true,
        );
    } finally {
      await backend.chordDone(groupId);
    }
  }

  /** Celery's `chord_error_from_stack`: the body fails with ChordError naming the failed part. */
  private async chordError(body: Signature, failed: ChordEntry, groupId: string): Promise<void> {
    const reason = isException(failed.result) ? excRepr(failed.result) : JSON.stringify(failed.result);
    const message = `Dependency ${failed.taskId} raised ${reason}`;
    this.w.log.warn({ group: groupId, body: body.task, part: failed.taskId }, `chord failed: ${message}`);
    const bodyId = body.options.task_id;
    if (typeof bodyId !== 'string') return;
    const exc: SerializedException = {
      exc_type: 'ChordError',
      exc_message: [message],
      exc_module: 'celery.exceptions',
    };
    await this.storeFailure(bodyId, JSON.stringify(exc), null);
    try {
      await this.sendErrbacks(signatureList(body.options.link_error, 'link_error'), bodyId, bodyId);
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      this.w.log.error({ body: body.task, err: err.message }, 'chord body errbacks not sent');
    }
  }

  /** Celery sends old-style errbacks as one group, each with the failed task's id first. */
  private async sendErrbacks(
    errbacks: readonly Signature[],
    failedId: string,
    rootId: string,
  ): Promise<void> {
    if (errbacks.length === 0) return;
    const group = randomUUID();
    for (const sig of errbacks) await this.send(sig, [failedId], { parentId: failedId, rootId, group });
  }

  /**
   * Sends one signature (Celery: `signature.apply_async(partial_args, **options)`). A signature this worker
   * cannot send is logged and, when it has a task id, failed: NotImplementedError for a composite one,
   * ValueError naming the option for malformed options.
   */
  private async send(
    sig: Signature,
    partial: unknown[],
    from: SendFrom,
    dropGroup = false,
  ): Promise<ResultTuple | null> {
    const taskId = typeof sig.options.task_id === 'string' ? sig.options.task_id : null;
    try {
      if (sig.subtask_type === 'group') return await this.sendGroup(sig, partial, from);
      if (sig.subtask_type === 'chord' && !from.chain?.length)
        return await this.sendChord(sig, partial, from);
      if (sig.subtask_type) {
        throw new UnsupportedCanvas(
          `Lovage workers do not run composite canvas signatures yet (${sig.subtask_type} ${sig.task})`,
        );
      }
      const args = sig.immutable ? sig.args : [...partial, ...sig.args];
      const options = sendOptions(sig, from);
      if (dropGroup) options.group = null;
      const sent = await this.w.app.sendTask(sig.task, args, sig.kwargs, options);
      return sent.asTuple();
    } catch (err) {
      if (!(err instanceof MalformedMessageError || err instanceof UnsupportedCanvas)) throw err;
      this.w.log.error(
        { task: sig.task, id: taskId, parent: from.parentId, err: err.message },
        'canvas step not sent',
      );
      if (taskId) {
        const exc: SerializedException = {
          exc_type: err instanceof UnsupportedCanvas ? 'NotImplementedError' : 'ValueError',
          exc_message: [err.message],
          exc_module: 'builtins',
        };
        await this.storeFailure(taskId, JSON.stringify(exc), null);
      }
      return null;
    }
  }

  /**
   * Celery's `group.apply_async(partial_args, **options)`: every member sent with the group's id (its
   * `task_id`) as their `group`, the partial arguments prepended unless the member is immutable.
   */
  private async sendGroup(sig: Signature, partial: unknown[], from: SendFrom): Promise<ResultTuple> {
    const tasks = sig.kwargs.tasks;
    if (!Array.isArray(tasks)) throw new MalformedMessageError(`${sig.task}: kwargs.tasks must be a list`);
    const members = tasks.map((t, i) => decodeSignature(t, `kwargs.tasks[${i}]`));
    const group = str(sig.options.task_id) ?? randomUUID();
    const sent: ResultTuple[] = [];
    for (const member of members) {
      const tuple = await this.send(member, partial, { ...from, group });
      if (tuple) sent.push(tuple);
    }
    return [[group, null], sent];
  }

  /**
   * Celery's `chord.apply_async(partial_args)` on the Redis backend: the header's size recorded first, then each
   * header task sent with the chord's group id, its `group_index` and the body as its `chord`; the header's
   * last part sends the body (`chordPart`). Header members must be plain tasks (their count is the size).
   */
  private async sendChord(sig: Signature, partial: unknown[], from: SendFrom): Promise<ResultTuple> {
    const header = decodeSignature(sig.kwargs.header, 'kwargs.header');
    const body = decodeSignature(sig.kwargs.body, 'kwargs.body');
    const tasks = header.kwargs.tasks;
    if (!Array.isArray(tasks)) throw new MalformedMessageError('kwargs.header: kwargs.tasks must be a list');
    const members = tasks.map((t, i) => decodeSignature(t, `kwargs.header.tasks[${i}]`));
    const backend = this.w.app.backend;
    if (members.some((m) => m.subtask_type) || !backend?.chordStart) {
      throw new UnsupportedCanvas(
        `Lovage workers do not run this chord yet (${backend?.chordStart ? 'a composite header task' : 'no chord support in the result backend'})`,
      );
    }
    const group = str(header.options.task_id) ?? str(sig.options.task_id) ?? randomUUID();
    await backend.chordStart(group, members.length);
    const sent: ResultTuple[] = [];
    for (const [groupIndex, member] of members.entries()) {
      const tuple = await this.send(member, partial, { ...from, group, groupIndex, chord: body });
      if (tuple) sent.push(tuple);
    }
    // Celery's header group is what `chord.run` adds to the parent's children.
    return [[group, null], sent];
  }

  private async storeFailure(taskId: string, excJson: string, traceback: string | null): Promise<void> {
    await this.w.app.backend?.store(taskId, 'FAILURE', excJson, {
      traceback,
      expires: this.w.settings.resultExpires,
    });
  }
}

function isException(v: unknown): v is SerializedException {
  return isRecord(v) && typeof v.exc_type === 'string' && Array.isArray(v.exc_message);
}
