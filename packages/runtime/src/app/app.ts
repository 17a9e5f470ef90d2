/**
 * The app: configuration, the task registry, and the client that sends tasks (Celery's `Celery()` object).
 * One app per process is usual; nothing here is global, so tests create as many as they need.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ResultBackend } from '../backend/backend';
import type { Broker } from '../broker/broker';
import type { StateStore } from '../state/state';
import { Control } from '../control/control';
import { encodeControlRequest, PIDBOX_EXCHANGE } from '../control/mailbox';
import { ConfigError, LovageError } from '../errors';
import { encodeEvent, encodeEvents, eventRoutingKey, taskSentEvent } from '../events/codec';
import { EVENT_EXCHANGE, type CeleryEvent } from '../events/types';
import { encodeTaskMessage, type Embed, type OutgoingMessage } from '../protocol/message';
import { CELERY_TASK_OPTION_NAMES, TASK_OPTION_NAMES, taskOptionsSchema } from '../task/options-schema';
import {
  TASK_DEFAULTS,
  type ResolvedTaskOptions,
  type TaskDefinition,
  type TaskFn,
  type TaskOptions,
} from '../task/task';
import { AsyncResult, GroupResult } from './async-result';
import { TaskSignature, type ArgsPrefix, type ArgsRest } from '../canvas/signature';
import { Hooks, type Hook, type HookName } from '../hooks';
import type { AppConfig, AppConfigInput } from './config';
import { optionIssueMessage } from './suggest';
import { defaultLogger, type Logger } from '../logging';

/** Recognises an app across module loaders (a tsx-compiled CJS copy of this package is not `instanceof`). */
export const APP_BRAND = Symbol.for('lovage.app');

export interface ApplyOptions {
  /** Seconds from now before the task may run. Celery: countdown. */
  countdown?: number;
  /** Earliest time the task may run. Celery: eta. */
  eta?: Date;
  /** Seconds from now, or a Date, after which the task is revoked instead of run. Celery: expires. */
  expires?: number | Date | null;
  queue?: string;
  priority?: number;
  /** Use this id instead of a new UUID. Celery: task_id. */
  taskId?: string;
  ignoreResult?: boolean;
  timeLimit?: number | null;
  softTimeLimit?: number | null;
  /** Extra message headers (kept at the top level, like Celery's `headers=`). */
  headers?: Record<string, unknown>;
  /** @internal set by the worker for retries and child tasks */
  retries?: number;
  parentId?: string | null;
  rootId?: string | null;
  embed?: Partial<Embed>;
  /** @internal a canvas step's group id and place in a chord header (headers `group`, `group_index`) */
  group?: string | null;
  groupIndex?: number | null;
}

export interface CreateAppOptions extends AppConfigInput {
  /** Logger for the app and its workers (pino-compatible). Default: pino at info level. */
  logger?: Logger;
}

/** A registered task, bound to its app: call `delay` or `applyAsync` to send it. */
export interface Task<A extends unknown[], R> extends TaskDefinition<A, R> {
  delay(...args: A): Promise<AsyncResult<Awaited<R>>>;
  applyAsync(
    args: A,
    options?: ApplyOptions & { kwargs?: Record<string, unknown> },
  ): Promise<AsyncResult<Awaited<R>>>;
  /**
   * Sends many calls of this task in one round trip per batch (one pipeline on Redis, confirms awaited
   * together on RabbitMQ). Every call is encoded before anything is sent, so a bad one fails the whole call,
   * naming its index, and nothing is sent. Returns the handles in the order given.
   */
  applyAsyncMany(calls: readonly TaskCall<A>[]): Promise<AsyncResult<Awaited<R>>[]>;
  /** `applyAsyncMany` with positional arguments only: `add.delayMany([[1, 2], [3, 4]])`. */
  delayMany(argsList: readonly A[]): Promise<AsyncResult<Awaited<R>>[]>;
  /** A signature of this task (canvas/): `add.s(2)` takes the rest from a previous step. Celery: `task.s`. */
  s<P extends ArgsPrefix<A>>(...args: P): TaskSignature<ArgsRest<A, P>, Awaited<R>>;
  /** An immutable signature: no previous result is prepended. Celery: `task.si`. */
  si(...args: A): TaskSignature<[], Awaited<R>>;
}

/** One call in a bulk send. */
export interface TaskCall<A extends unknown[] = unknown[]> {
  args: A;
  kwargs?: Record<string, unknown>;
  options?: ApplyOptions;
}

/** One call in `app.sendTaskMany`: a task by name. */
export interface NamedTaskCall extends TaskCall {
  name: string;
}

/** A message ready to publish, with what the client reports once it is sent. */
interface Prepared {
  id: string;
  queue: string;
  message: OutgoingMessage;
  event: CeleryEvent | null;
}

/** The adapters an app runs on, built by `createApp` (app/transports.ts) or handed in. */
export interface AppAdapters {
  broker: Broker;
  /** Null when results are off (no `backend` URL). */
  backend: ResultBackend | null;
  /** Lovage's records: revoked ids, queues, dead letters, settings, the task index. */
  state: StateStore;
}

export class App {
  readonly [APP_BRAND] = true;
  readonly config: AppConfig;
  readonly broker: Broker;
  readonly backend: ResultBackend | null;
  /** Lovage's own records (revoked ids, queues, dead letters, settings, the task index): the `state` URL. */
  readonly state: StateStore;
  readonly logger: Logger;
  readonly tasks = new Map<string, TaskDefinition>();
  private controlClient: Control | null = null;
  /** Lifecycle hooks (Celery's signals); register with `app.on(...)`. */
  readonly hooks = new Hooks();
  /** Producer node name, Celery's `origin` header: `gen<pid>@<host>`. */
  readonly origin = `gen${process.pid}@${os.hostname()}`;

  /**
   * An app on adapters already built: `createApp` builds them from the config's URLs; a test or an embedder
   * may hand in its own.
   */
  constructor(config: AppConfig, adapters: AppAdapters, logger?: Logger) {
    this.config = config;
    this.logger = logger ?? defaultLogger();
    this.broker = adapters.broker;
    this.backend = adapters.backend;
    this.state = adapters.state;
  }

  /**
   * Registers a lifecycle hook: `workerProcessInit` to open a connection in each pool process,
   * `workerProcessShutdown` to close it, `taskPrerun`/`taskPostrun`/`taskFailure`/`taskRetry` around tasks.
   * Returns a function that removes the hook.
   */
  on<K extends HookName>(name: K, hook: Hook<K>): () => void {
    return this.hooks.on(name, hook);
  }

  /** Registers a task. The function receives the task context first, then the arguments. */
  task<A extends unknown[], R>(name: string, fn: TaskFn<A, R>, options: TaskOptions = {}): Task<A, R> {
    if (this.tasks.has(name)) throw new ConfigError(`task ${name} is already registered`);
    const checked = taskOptionsSchema.partial().safeParse(options);
    if (!checked.success) {
      throw new ConfigError(
        optionIssueMessage(
          `task ${name}`,
          checked.error.issues[0]!,
          TASK_OPTION_NAMES,
          CELERY_TASK_OPTION_NAMES,
        ),
      );
    }
    const defaults = Object.fromEntries(
      Object.entries(this.config.taskDefaults).filter(([, v]) => v !== undefined),
    ) as Partial<ResolvedTaskOptions>;
    const resolved: ResolvedTaskOptions = {
      ...TASK_DEFAULTS,
      queue: this.config.defaultQueue,
      ...defaults,
      ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as TaskOptions),
    };
    const explicit = new Set(
      Object.entries(options)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k as keyof TaskOptions),
    );
    const def: TaskDefinition<A, R> = { name, fn, options: resolved, explicit };
    this.tasks.set(name, def as unknown as TaskDefinition);
    return {
      ...def,
      delay: (...args: A) => this.send(def, args, {}, {}),
      applyAsync: (args: A, opts: ApplyOptions & { kwargs?: Record<string, unknown> } = {}) =>
        this.send(def, args, opts.kwargs ?? {}, opts),
      applyAsyncMany: (calls) =>
        this.sendMany(
          calls.map((c) => ({ def, args: c.args, kwargs: c.kwargs ?? {}, opts: c.options ?? {} })),
        ),
      delayMany: (argsList) => this.sendMany(argsList.map((args) => ({ def, args, kwargs: {}, opts: {} }))),
      s: (...args) => new TaskSignature(this, name, args),
      si: (...args) => new TaskSignature(this, name, args, {}, {}, true),
    };
  }

  /** Sends a task by name, defined here or elsewhere (a Python worker, say). Celery: send_task. */
  sendTask<R = unknown>(
    name: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    const def = this.tasks.get(name) ?? {
      name,
      options: { ...TASK_DEFAULTS, queue: this.config.defaultQueue },
    };
    return this.send(def as TaskDefinition<unknown[], R>, args, kwargs, options) as Promise<AsyncResult<R>>;
  }

  /** `sendTask` for many tasks at once, in one round trip per batch (see `Task.applyAsyncMany`). */
  sendTaskMany<R = unknown>(calls: readonly NamedTaskCall[]): Promise<AsyncResult<R>[]> {
    return this.sendMany(
      calls.map((c) => ({
        def: this.tasks.get(c.name) ?? {
          name: c.name,
          options: { ...TASK_DEFAULTS, queue: this.config.defaultQueue },
        },
        args: c.args,
        kwargs: c.kwargs ?? {},
        opts: c.options ?? {},
      })),
    ) as Promise<AsyncResult<R>[]>;
  }

  private async send<R>(
    def: Pick<TaskDefinition<unknown[], R>, 'name' | 'options'>,
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    opts: ApplyOptions,
  ): Promise<AsyncResult<Awaited<R>>> {
    const p = this.prepare(def, args, kwargs, opts);
    // A state store on the broker's Redis learns the queue from the broker's own publish.
    if (!this.state.sharesBroker) await this.state.queues.add(p.queue);
    await this.broker.publish(p.queue, p.message);
    if (p.event) await this.announce([p.event]);
    return new AsyncResult<Awaited<R>>(p.id, this);
  }

  private async sendMany<R>(
    calls: readonly {
      def: Pick<TaskDefinition<unknown[], R>, 'name' | 'options'>;
      args: readonly unknown[];
      kwargs: Record<string, unknown>;
      opts: ApplyOptions;
    }[],
  ): Promise<AsyncResult<Awaited<R>>[]> {
    // Everything encoded first: one bad call fails the whole send before anything leaves.
    const prepared = calls.map((c, i) => {
      try {
        return this.prepare(c.def, c.args, c.kwargs, c.opts);
      } catch (err) {
        if (err instanceof LovageError) err.message = `call ${i} (${c.def.name}): ${err.message}`;
        throw err;
      }
    });
    if (prepared.length === 0) return [];
    if (!this.state.sharesBroker) {
      for (const queue of new Set(prepared.map((p) => p.queue))) await this.state.queues.add(queue);
    }
    await this.broker.publishMany(prepared.map((p) => ({ queue: p.queue, message: p.message })));
    const events = prepared.flatMap((p) => (p.event ? [p.event] : []));
    if (events.length > 0) await this.announce(events);
    return prepared.map((p) => new AsyncResult<Awaited<R>>(p.id, this));
  }

  /** The task-sent events: monitoring data, so a failure to publish them is logged, not thrown. */
  private async announce(events: CeleryEvent[]): Promise<void> {
    const message = events.length === 1 ? encodeEvent(events[0]!) : encodeEvents(events, this.origin);
    const routingKey = events.length === 1 ? eventRoutingKey(events[0]!.type) : 'task.multi';
    await this.broker
      .broadcast(EVENT_EXCHANGE, routingKey, message)
      .catch((err: unknown) =>
        this.logger.warn(
          { err, taskIds: events.map((e) => e.uuid) },
          'could not publish the task-sent event',
        ),
      );
  }

  private prepare(
    def: Pick<TaskDefinition<unknown[], unknown>, 'name' | 'options'>,
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    opts: ApplyOptions,
  ): Prepared {
    const o = def.options;
    const id = opts.taskId ?? randomUUID();
    const now = Date.now();
    const eta = opts.eta ?? (opts.countdown !== undefined ? new Date(now + opts.countdown * 1000) : null);
    const exp = opts.expires !== undefined ? opts.expires : o.expires;
    const expires = exp === null ? null : exp instanceof Date ? exp : new Date(now + exp * 1000);
    const hard = opts.timeLimit !== undefined ? opts.timeLimit : null;
    const soft = opts.softTimeLimit !== undefined ? opts.softTimeLimit : null;
    const message = encodeTaskMessage({
      id,
      name: def.name,
      args,
      kwargs,
      eta,
      expires,
      retries: opts.retries ?? 0,
      timeLimit: [hard, soft],
      rootId: opts.rootId ?? id,
      parentId: opts.parentId ?? null,
      group: opts.group ?? null,
      groupIndex: opts.groupIndex ?? null,
      ignoreResult: opts.ignoreResult ?? o.ignoreResult,
      origin: this.origin,
      priority: opts.priority ?? o.priority,
      embed: opts.embed,
      headers: opts.headers,
    });
    const queue = opts.queue ?? o.queue;
    // Stamped before publishing: a worker may receive and start the task before publish() returns, and
    // a monitor must not see it sent after it started.
    const event = this.config.taskSendSentEvent
      ? taskSentEvent({
          id,
          name: def.name,
          args,
          kwargs,
          queue,
          hostname: this.origin,
          rootId: opts.rootId ?? id,
          parentId: opts.parentId ?? null,
          group: opts.group ?? null,
          retries: opts.retries ?? 0,
          eta,
          expires,
          routingKey: queue,
        })
      : null;
    return { id, queue, message, event };
  }

  /** Remote control and inspection of running workers (Celery's `app.control`). */
  get control(): Control {
    return (this.controlClient ??= new Control(this.broker));
  }

  asyncResult<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this);
  }

  /** A signature of a task by name, defined here or elsewhere (Python). Celery: `app.signature`. */
  signature<R = unknown>(
    name: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: Parameters<TaskSignature['set']>[0] = {},
  ): TaskSignature<unknown[], R> {
    return new TaskSignature<unknown[], R>(this, name, args, kwargs).set(options);
  }

  /** A group saved with `GroupResult.save()` (here or by Celery), or null. Celery: `GroupResult.restore`. */
  restoreGroup<R = unknown>(id: string): Promise<GroupResult<R> | null> {
    return GroupResult.restore<R>(id, this);
  }

  /**
   * Revokes tasks: recorded in the state store for `revokedTtl` seconds (so workers started later honour it) and
   * broadcast as Celery's `revoke` control command, so running Lovage and Celery workers act at once.
   * `terminate` also stops the task if it is running.
   */
  async revoke(
    ids: string | string[],
    options: { terminate?: boolean; signal?: string } = {},
  ): Promise<void> {
    const list = Array.isArray(ids) ? ids : [ids];
    await this.state.revoked.add(list, this.config.revokedTtl);
    await this.broker.broadcast(
      PIDBOX_EXCHANGE,
      '',
      encodeControlRequest('revoke', {
        task_id: list.length === 1 ? list[0] : list,
        terminate: options.terminate ?? false,
        signal: options.signal ?? 'SIGTERM',
      }),
    );
  }

  /** Closes the broker, backend and state store connections. */
  async close(): Promise<void> {
    await Promise.all([this.broker.close(), this.backend?.close(), this.state.close()]);
  }
}

export function isApp(value: unknown): value is App {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_BRAND] === true
  );
}
