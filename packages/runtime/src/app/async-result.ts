/**
 * A handle on a sent task's result (Celery's AsyncResult), and on a group's (GroupResult). Reading the state is
 * a Redis round trip, so the readers are async. Both live here because each makes the other from Celery's
 * result tuples (`children`, a restored group).
 */
import { BackendDisabledError, BackendError, ConfigError } from '../errors';
import type { ResultBackend } from '../backend/backend';
import type { ResultMeta } from '../backend/meta';
import { deserializeException } from '../protocol/exceptions';
import { States, isReady, type TaskState } from '../task/states';

export interface ResultOwner {
  readonly backend: ResultBackend | null;
  revoke(ids: string | string[], options?: { terminate?: boolean; signal?: string }): Promise<void>;
}

export interface GetOptions {
  /** Seconds to wait; null waits forever (Celery's default). */
  timeout?: number | null;
  /** Throw the task's error when it failed (true), or return it (false). Celery: propagate. */
  propagate?: boolean;
}

/**
 * Celery's result tuple (`ResultBase.as_tuple`), as stored in a meta's `children` and a saved group:
 * `[[id, parent tuple | null], null]` for a task, `[[group id, parent], [member tuples]]` for a group.
 */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** A node of Celery's result graph: a task's result or a group's. */
export type ResultNode = AsyncResult | GroupResult;

export class AsyncResult<R = unknown> {
  /**
   * The result this one follows in a workflow (Celery's `AsyncResult.parent`): the previous step of a chain,
   * a chord header's GroupResult for its body. Set by the canvas that sent it; null otherwise.
   */
  parent: ResultNode | null = null;

  constructor(
    readonly id: string,
    private readonly owner: ResultOwner,
  ) {}

  /** Celery's `as_tuple()`, with the parent chain. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent?.asTuple() ?? null], null];
  }

  /**
   * What the task sent while it ran, as the worker stored it in the meta's `children` (Celery's tracer records
   * the chain's next step, callbacks and tasks sent from the task); [] while nothing is stored.
   */
  async children(): Promise<ResultNode[]> {
    const meta = await this.info();
    return (meta?.children ?? []).map((t) => resultFromTuple(t, this.owner));
  }

  private get backend(): ResultBackend {
    if (!this.owner.backend) throw new BackendDisabledError();
    return this.owner.backend;
  }

  /** The stored meta, or null while PENDING. */
  info(): Promise<ResultMeta | null> {
    return this.backend.get(this.id);
  }

  async state(): Promise<TaskState | string> {
    return (await this.info())?.status ?? States.PENDING;
  }

  async ready(): Promise<boolean> {
    return isReady(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === States.SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === States.FAILURE;
  }

  /**
   * Waits for the task to finish (pub/sub, never polling) and returns its result. A FAILURE or REVOKED task
   * rejects with an error whose `name` is the remote exception type and whose message is its arguments.
   */
  async get(options: GetOptions = {}): Promise<R> {
    const timeout = options.timeout === undefined ? null : options.timeout;
    const meta = await this.backend.waitReady(this.id, timeout === null ? null : timeout * 1000);
    if (meta.status === States.SUCCESS) return meta.result as R;
    const error = deserializeException(this.id, meta.result, meta.traceback);
    if (options.propagate === false) return error as R;
    throw error;
  }

  /** Revokes the task on every worker, including ones started later. */
  revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    return this.owner.revoke(this.id, options);
  }

  /** Deletes the stored result. */
  forget(): Promise<void> {
    return this.backend.forget(this.id);
  }
}

/**
 * The results of a group's members, in the group's order (Celery's GroupResult). `save()` stores it where
 * Celery's `GroupResult.restore` reads it; `GroupResult.restore` (or `app.restoreGroup`) reads it back.
 */
export class GroupResult<R = unknown> {
  /** The result this group follows in a workflow (a chain step before it), as AsyncResult.parent. */
  parent: ResultNode | null = null;

  constructor(
    readonly id: string,
    readonly results: AsyncResult<R>[],
    private readonly owner: ResultOwner,
  ) {}

  private get backend(): ResultBackend {
    if (!this.owner.backend) throw new BackendDisabledError();
    return this.owner.backend;
  }

  asTuple(): ResultTuple {
    return [[this.id, this.parent?.asTuple() ?? null], this.results.map((r) => r.asTuple())];
  }

  /**
   * Waits for every member and returns their results in the group's order. With `propagate` (the default) the
   * first failure in that order rejects, as Celery's `join`; `timeout` is for the whole group, in seconds.
   */
  async get(options: GetOptions = {}): Promise<R[]> {
    const timeout = options.timeout ?? null;
    const deadline = timeout === null ? null : Date.now() + timeout * 1000;
    const out: R[] = [];
    for (const r of this.results) {
      const left = deadline === null ? null : Math.max(0, deadline - Date.now()) / 1000;
      out.push(await r.get({ ...options, timeout: left }));
    }
    return out;
  }

  private async states(): Promise<string[]> {
    const metas = await this.backend.getMany(this.results.map((r) => r.id));
    return metas.map((m) => m?.status ?? States.PENDING);
  }

  /** Every member is ready (succeeded, failed or revoked). */
  async ready(): Promise<boolean> {
    return (await this.states()).every(isReady);
  }

  /** Every member succeeded. */
  async successful(): Promise<boolean> {
    return (await this.states()).every((s) => s === States.SUCCESS);
  }

  /** Some member failed. */
  async failed(): Promise<boolean> {
    return (await this.states()).some((s) => s === States.FAILURE);
  }

  /** How many members succeeded (Celery: completed_count). */
  async completedCount(): Promise<number> {
    return (await this.states()).filter((s) => s === States.SUCCESS).length;
  }

  /** Revokes every member, in one call. */
  revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    return this.owner.revoke(
      this.results.map((r) => r.id),
      options,
    );
  }

  /** Stores the group at `celery-taskset-meta-<id>` in Celery's JSON, so Python's `GroupResult.restore` reads it. */
  async save(): Promise<void> {
    const backend = this.backend;
    if (!backend.saveGroup) throw new ConfigError('this result backend cannot save groups');
    await backend.saveGroup(this.id, JSON.stringify({ result: this.asTuple() }));
  }

  /** Deletes the saved group (Celery: GroupResult.delete); the members' results stay. */
  async delete(): Promise<void> {
    await this.backend.deleteGroup?.(this.id);
  }

  /** A group saved by `save()`, here or by Celery; null when none is stored under `id`. */
  static async restore<R = unknown>(id: string, owner: ResultOwner): Promise<GroupResult<R> | null> {
    if (!owner.backend) throw new BackendDisabledError();
    const saved = await owner.backend.getGroup?.(id);
    if (saved === null || saved === undefined) return null;
    const result = (saved as { result?: unknown }).result;
    const node = isTuple(result) ? resultFromTuple(result, owner) : null;
    if (!(node instanceof GroupResult)) return null;
    return node as GroupResult<R>;
  }
}

function isTuple(v: unknown): v is ResultTuple {
  return Array.isArray(v) && v.length === 2 && Array.isArray(v[0]);
}

/** Celery's `result_from_tuple`: a task's or a group's result, with its parents. */
export function resultFromTuple(t: unknown, owner: ResultOwner): ResultNode {
  if (!isTuple(t)) throw new BackendError(`not a Celery result tuple: ${JSON.stringify(t)}`);
  const [[id, parentTuple], nodes] = t;
  const parent = parentTuple ? resultFromTuple(parentTuple, owner) : null;
  const node: ResultNode = nodes
    ? new GroupResult(
        id,
        nodes.map((n) => {
          // A group nested in a group is read as one result under its id (its members are not followed).
          const member = resultFromTuple(n, owner);
          return member instanceof AsyncResult ? member : new AsyncResult(member.id, owner);
        }),
        owner,
      )
    : new AsyncResult(id, owner);
  node.parent = parent;
  return node;
}
