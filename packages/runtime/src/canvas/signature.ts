/**
 * Signatures, client side (Celery's `Signature`): a task call kept as data, to send later or to put in a
 * workflow (chain, group, chord: ./primitives.ts). On the wire a signature is Celery's dict
 * `{task, args, kwargs, options, subtask_type, immutable}` with Celery's option names, so a Python worker and a
 * Lovage one read the same thing. Every method returns a new signature; none changes the one it is called on.
 */
import type { AsyncResult, ResultNode } from '../app/async-result';
import { ConfigError } from '../errors';
import type { Signature as SignatureDict } from '../protocol/message';
import { applyCanvas, type CanvasApp } from './apply';
import { celeryOptions, type SignatureOptions } from './options';

/**
 * Anything a workflow is made of: a task signature, a chain, a group or a chord. `R` is what it returns, `H` the
 * handle sending it gives (a GroupResult for a group).
 */
export abstract class CanvasNode<R = unknown, H extends ResultNode = AsyncResult<Awaited<R>>> {
  /** @internal the result type, for inference only */
  declare readonly __result?: R;

  constructor(readonly app: CanvasApp) {}

  /** Celery's dict for this node, not frozen (no task ids yet). */
  abstract toDict(): SignatureDict;

  /** Sends it, `args` prepended to its first task's arguments (each member's, for a group or chord header). */
  async applyAsync(args: unknown[] = []): Promise<H> {
    return (await applyCanvas(this.app, this.toDict(), args)) as H;
  }

  delay(...args: unknown[]): Promise<H> {
    return this.applyAsync(args);
  }
}

/** The prefixes of an argument list: `[a, b]` gives `[]`, `[a]` and `[a, b]`. */
export type ArgsPrefix<A extends unknown[]> = A extends [...infer H, unknown] ? A | ArgsPrefix<H> : A;
/** What is left of `A` once `P` is given: the arguments a previous step's result fills in. */
export type ArgsRest<A extends unknown[], P extends unknown[]> = A extends [...P, ...infer T] ? T : unknown[];

/**
 * One task call. `A` is what is still to be given when it is sent (a chain prepends the previous step's
 * result; `applyAsync(args)` prepends `args`), `R` what the task returns.
 */
export class TaskSignature<A extends unknown[] = unknown[], R = unknown> extends CanvasNode<R> {
  constructor(
    app: CanvasApp,
    readonly task: string,
    readonly args: readonly unknown[],
    readonly kwargs: Readonly<Record<string, unknown>> = {},
    /** Celery's option names (`task_id`, `link`, ...), as stored in the dict. */
    readonly options: Readonly<Record<string, unknown>> = {},
    /** Celery's `immutable` (`.si()`): the previous step's result is not prepended. */
    readonly immutable = false,
  ) {
    super(app);
    if (task === '') throw new ConfigError('a signature needs a task name');
  }

  /** A copy with these options (Celery: `sig.set(...)`); an unknown option is refused, naming it. */
  set(options: SignatureOptions): TaskSignature<A, R> {
    return this.with({ ...this.options, ...celeryOptions(this.task, options) });
  }

  /** A copy that sends `callback` with this task's result when it succeeds (Celery: `link`). */
  link(callback: CanvasNode<unknown, ResultNode>): TaskSignature<A, R> {
    return this.with(appendOption(this.options, 'link', callback));
  }

  /** A copy that sends `errback` with this task's id when it fails (Celery: `link_error`). */
  linkError(errback: CanvasNode<unknown, ResultNode>): TaskSignature<A, R> {
    return this.with(appendOption(this.options, 'link_error', errback));
  }

  toDict(): SignatureDict {
    return {
      task: this.task,
      args: structuredClone([...this.args]),
      kwargs: structuredClone({ ...this.kwargs }),
      options: structuredClone({ ...this.options }),
      subtask_type: null,
      immutable: this.immutable,
    };
  }

  /** Sends the task with `args` prepended (unless immutable) and `options` set. Celery: `Signature.apply_async`. */
  override async applyAsync(args?: A, options: SignatureOptions = {}): Promise<AsyncResult<Awaited<R>>> {
    const sig = this.set(options).toDict();
    return (await applyCanvas(this.app, sig, (args ?? []) as unknown[])) as AsyncResult<Awaited<R>>;
  }

  override delay(...args: A): Promise<AsyncResult<Awaited<R>>> {
    return this.applyAsync(args);
  }

  private with(options: Record<string, unknown>): TaskSignature<A, R> {
    return new TaskSignature<A, R>(this.app, this.task, this.args, this.kwargs, options, this.immutable);
  }
}

function appendOption(
  options: Readonly<Record<string, unknown>>,
  key: 'link' | 'link_error',
  sig: CanvasNode<unknown, ResultNode>,
): Record<string, unknown> {
  const current = options[key];
  const list = current === undefined || current === null ? [] : Array.isArray(current) ? current : [current];
  return { ...options, [key]: [...list, sig.toDict()] };
}
