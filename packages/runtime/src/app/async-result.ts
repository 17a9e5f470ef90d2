/**
 * A handle on a sent task's result (Celery's AsyncResult). Reading the state is a Redis round trip, so the
 * readers are async.
 */
import { BackendDisabledError } from '../errors';
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

export class AsyncResult<R = unknown> {
  constructor(
    readonly id: string,
    private readonly owner: ResultOwner,
  ) {}

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
