/**
 * The worker core: reserves messages from the broker, decodes and checks them, holds ETA tasks and
 * rate-limited ones without blocking the rest, runs tasks in a pool, stores results, re-sends retries and
 * acknowledges. It never loses a message it cannot handle: anything malformed goes to the queue's dead
 * letters with the reason.
 *
 * Acknowledgement follows Celery: on start by default, after the result is stored with `acksLate`.
 * Messages reserved but not started, and ETA tasks held in memory, stay in the broker's in-flight list under
 * this worker's lease until they run or the worker stops (they then go back to the front of their queue).
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { App } from '../app/app';
import type { Logger } from '../app/logger';
import { serializeException } from '../backend/meta';
import { newConsumerId, type Consumer, type Delivery } from '../broker/broker';
import {
  addressedTo,
  decodeControlRequest,
  encodeControlReply,
  PIDBOX_EXCHANGE,
  REPLY_EXCHANGE,
  type ControlRequest,
} from '../control/mailbox';
import { MalformedMessageError, NotRegistered, TaskRevokedError, WorkerLostError } from '../errors';
import { saferepr, WorkerEventPublisher } from '../events';
import { decodeTaskMessage, type TaskRequest } from '../protocol/message';
import { argsRepr, kwargsRepr, pyRepr } from '../protocol/repr';
import { AsyncPool } from '../pool/async-pool';
import type { JobOutcome, Pool } from '../pool/pool';
import type { SettingKey, TaskLimits, WorkerSettings } from '../settings/schema';
import type { SettingsStore } from '../settings/store';
import { parseRateLimit, TokenBucket } from '../task/rate-limit';
import type { ResolvedTaskOptions, TaskDefinition } from '../task/task';
import { handleControl } from './control-handlers';
import { applyStoredSettings, type SettingsReport } from './settings-apply';

export interface WorkerOptions {
  /** Queues to consume. Default: the app's default queue. Celery: -Q. */
  queues?: string[];
  /** Tasks run at once. Default: the CPU count (os.availableParallelism()). Celery: --concurrency. */
  concurrency?: number;
  /** Messages reserved ahead per slot. Celery: worker_prefetch_multiplier (4). */
  prefetchMultiplier?: number;
  /** Node name. Default `lovage@<host>`. Celery: --hostname. */
  hostname?: string;
  /** Where tasks run. Default: the async pool on this event loop, `concurrency` wide. */
  pool?: Pool;
  logger?: Logger;
  /** Send task events (Celery: -E / worker_send_task_events). Worker online/heartbeat/offline are always sent. */
  taskEvents?: boolean;
  /** Publish events at all (true). */
  events?: boolean;
  /** Seconds between worker heartbeats (2, as Celery). */
  heartbeatInterval?: number;
  /** Answer remote control on the pidbox (true). */
  control?: boolean;
  /**
   * Settings this worker runs with (from the console's stored version, under the CLI's flags): worker-wide
   * task defaults (acksLate, maxRetries, defaultRetryDelay, time limits), per-task limits, result expiry and
   * the lease. Tasks' own options win over the worker-wide defaults, as in Celery.
   */
  settings?: WorkerSettings;
  /** Where the settings came from: the worker reloads them on `apply_settings` and reports drift. */
  settingsSource?: { store: SettingsStore; version: number; pinned: readonly SettingKey[] };
}

export interface WorkerEvents {
  'task-received': [TaskRequest];
  'task-started': [TaskRequest];
  'task-succeeded': [TaskRequest, { resultJson: string; runtime: number }];
  'task-failed': [TaskRequest, { exception: string; traceback: string | null; runtime: number }];
  'task-retried': [TaskRequest, { exception: string | null; eta: Date }];
  'task-revoked': [TaskRequest, { reason: 'revoked' | 'expired' | 'terminated' }];
  'message-dead-lettered': [{ queue: string; reason: string }];
  'lease-lost': [];
  /** Remote control asked this worker to stop (`shutdown`); the service decides how to exit. */
  'shutdown-requested': [];
  /** Stored settings were applied (or found to need a restart). */
  'settings-applied': [SettingsReport];
}

/** A message this worker holds: ready, scheduled, or running. */
export interface Held {
  delivery: Delivery;
  request: TaskRequest;
  def: TaskDefinition;
  timer?: NodeJS.Timeout;
  /** Epoch ms the task started running. */
  startedAt?: number;
  acknowledged: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class Worker extends EventEmitter<WorkerEvents> {
  readonly hostname: string;
  queues: string[];
  readonly prefetchMultiplier: number;
  readonly pool: Pool;
  readonly consumerId: string;
  readonly startedAt = Date.now();
  readonly log: Logger;
  readonly events: WorkerEventPublisher | null;
  settings: WorkerSettings;
  settingsSource: { store: SettingsStore; version: number; pinned: readonly SettingKey[] } | null;
  private applyingSettings: Promise<unknown> = Promise.resolve();
  private consumer: Consumer | null = null;
  /** Reserved, ready to run, waiting for a free slot. */
  readonly ready: Held[] = [];
  /** ETA tasks and rate-limited tasks waiting for their time. */
  readonly scheduled = new Set<Held>();
  readonly active = new Map<string, Held>();
  readonly revoked = new Set<string>();
  private readonly buckets = new Map<string, TokenBucket | null>();
  /** Per-task limits set at run time (remote control rate_limit/time_limit, console settings). */
  readonly taskLimits = new Map<string, TaskLimits>();
  /** Tasks finished per name, for `stats`. */
  readonly totals = new Map<string, number>();
  private readonly answerControl: boolean;
  private running = false;
  private loop: Promise<void> | null = null;
  private slotFreed: (() => void) | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private revokedTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private cold = false;
  processed = 0;

  constructor(
    readonly app: App,
    options: WorkerOptions = {},
  ) {
    super();
    this.hostname = options.hostname ?? `lovage@${os.hostname()}`;
    this.queues = options.queues?.length ? [...options.queues] : [app.config.defaultQueue];
    this.prefetchMultiplier = Math.max(1, options.prefetchMultiplier ?? 4);
    this.log = (options.logger ?? app.logger).child({ worker: this.hostname });
    this.pool =
      options.pool ??
      new AsyncPool(app.tasks, {
        size: Math.max(1, options.concurrency ?? os.availableParallelism()),
        hooks: app.hooks,
        hostname: this.hostname,
        logger: this.log,
      });
    this.consumerId = newConsumerId(this.hostname);
    this.settings = options.settings ?? {};
    this.settingsSource = options.settingsSource ?? null;
    for (const [name, limits] of Object.entries(this.settings.taskLimits ?? {}))
      this.taskLimits.set(name, limits);
    this.answerControl = options.control ?? true;
    this.events =
      options.events === false
        ? null
        : new WorkerEventPublisher(app.broker, {
            hostname: this.hostname,
            taskEvents: options.taskEvents ?? false,
            freq: options.heartbeatInterval ?? 2,
            logger: this.log,
            stats: () => ({
              active: this.active.size,
              processed: this.processed,
              lovage: this.describe(),
            }),
          });
  }

  /** Tasks run at once: the pool's size (it grows and shrinks at run time). */
  get concurrency(): number {
    return this.pool.size;
  }

  /** What this worker runs with, for heartbeats, `stats` and the console's drift view. */
  describe() {
    return {
      pool: this.pool.kind,
      concurrency: this.concurrency,
      prefetchMultiplier: this.prefetchMultiplier,
      queues: this.queues,
      settingsVersion: this.settingsSource?.version ?? null,
      pinned: this.settingsSource?.pinned ?? [],
    };
  }

  /** Changes how many tasks run at once (remote control pool_grow/pool_shrink, console settings). */
  async setConcurrency(n: number): Promise<void> {
    // The pool takes the new size at once (jobs wait in it for executors still starting); pump now.
    const resizing = this.pool.resize(Math.max(1, Math.trunc(n)));
    this.slotFreed?.();
    this.slotFreed = null;
    this.pump();
    await resizing;
  }

  /** Starts or stops consuming from queues at run time (remote control add_consumer/cancel_consumer). */
  setQueues(queues: string[]): void {
    this.queues = [...new Set(queues)];
    this.consumer?.setQueues(this.queues);
  }

  /** The task's options after worker settings: the task's own choices win, then settings, then defaults. */
  effectiveOptions(def: TaskDefinition): ResolvedTaskOptions {
    const s = this.settings;
    const own = def.explicit;
    const pick = <K extends keyof ResolvedTaskOptions & keyof WorkerSettings>(k: K) =>
      !own?.has(k) && s[k] !== undefined ? { [k]: s[k] } : {};
    return {
      ...def.options,
      ...pick('acksLate'),
      ...pick('maxRetries'),
      ...pick('defaultRetryDelay'),
      ...pick('timeLimit'),
      ...pick('softTimeLimit'),
    } as ResolvedTaskOptions;
  }

  /** Sets a task's rate limit at run time: null runs it unlimited, undefined goes back to the task's own. */
  setRateLimit(name: string, rateLimit: string | null | undefined): void {
    parseRateLimit(rateLimit);
    this.taskLimits.set(name, { ...this.taskLimits.get(name), rateLimit });
    this.buckets.delete(name);
  }

  setTimeLimits(name: string, hard: number | null, soft: number | null): void {
    this.taskLimits.set(name, { ...this.taskLimits.get(name), timeLimit: hard, softTimeLimit: soft });
  }

  /**
   * Reloads the stored settings version and applies what can change live. Applies run one at a time, in
   * the order they were asked for, each reading the newest version when its turn comes: a slow one (a
   * prefork pool spawning 64 children) can no longer finish after a newer one and put the worker back.
   */
  applySettings(): Promise<SettingsReport> {
    const run = this.applyingSettings.then(() => applyStoredSettings(this));
    this.applyingSettings = run.catch(() => undefined);
    return run;
  }

  /** Tasks reserved, scheduled and running, for inspection. */
  get stats() {
    return {
      active: this.active.size,
      ready: this.ready.length,
      scheduled: this.scheduled.size,
      processed: this.processed,
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.app.broker.ping();
    await this.app.hooks.run('workerInit', { hostname: this.hostname, pid: process.pid });
    this.running = true;
    await this.pool.start();
    for (const id of await this.app.broker.loadRevoked()) this.revoked.add(id);
    this.unsubscribe = await this.app.broker.subscribeFanout(PIDBOX_EXCHANGE, ({ message }) => {
      const req = decodeControlRequest(message);
      if (!req || !addressedTo(req, this.hostname)) return;
      if (req.method === 'revoke' || this.answerControl) void this.onControl(req);
    });
    // Broadcasts sent while we were disconnected are lost; the stored set catches them up.
    this.revokedTimer = setInterval(() => void this.reloadRevoked(), 30_000);
    this.revokedTimer.unref();
    this.consumer = this.app.broker.consumer({
      consumerId: this.consumerId,
      queues: this.queues,
      visibilityTimeout: this.settings.visibilityTimeout,
      onLeaseLost: () => this.onLeaseLost(),
      onRecordsRestored: (restored) =>
        this.log.warn(
          { restored, held: this.ready.length + this.scheduled.size + this.active.size },
          "the broker had lost this worker's lease and in-flight records (Redis restarted without its data?): " +
            're-registered, and the tasks held here are recorded again',
        ),
    });
    this.loop = this.consume();
    await this.events?.start();
    this.log.info(
      {
        queues: this.queues,
        concurrency: this.concurrency,
        pool: this.pool.kind,
        broker: this.app.broker.displayUrl,
      },
      'worker ready',
    );
  }

  private async reloadRevoked(): Promise<void> {
    try {
      for (const id of await this.app.broker.loadRevoked()) this.revoked.add(id);
    } catch {
      // Redis away; the next tick tries again.
    }
  }

  private async onControl(req: ControlRequest): Promise<void> {
    let reply: unknown;
    try {
      reply = await handleControl(this, req);
    } catch (err) {
      const e = err as Error;
      reply = { error: `${e.name ?? 'Error'}(${JSON.stringify(e.message ?? String(err))})` };
    }
    if (!req.reply_to || reply === undefined) return;
    try {
      await this.app.broker.publishDirect(
        req.reply_to.exchange || REPLY_EXCHANGE,
        req.reply_to.routing_key,
        encodeControlReply(this.hostname, reply, req.ticket),
      );
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, method: req.method },
        'could not reply to a control command',
      );
    }
  }

  /** Flags tasks as revoked; with `terminate`, stops the ones running here. Returns the ids terminated. */
  revokeTasks(ids: string[], terminate: boolean): string[] {
    const terminated: string[] = [];
    const wanted = new Set(ids);
    for (const id of ids) {
      this.revoked.add(id);
      if (terminate && this.active.has(id) && this.pool.terminate(id)) terminated.push(id);
    }
    // Tasks held here (waiting for their ETA, a rate-limit slot or a free slot) are discarded now rather
    // than when their time comes, so their REVOKED state shows at once.
    for (const h of [...this.scheduled]) {
      if (!wanted.has(h.request.id)) continue;
      clearTimeout(h.timer);
      this.scheduled.delete(h);
      void this.finishRevoked(h, 'revoked');
    }
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const h = this.ready[i]!;
      if (!wanted.has(h.request.id)) continue;
      this.ready.splice(i, 1);
      void this.finishRevoked(h, 'revoked');
    }
    this.slotFreed?.();
    this.slotFreed = null;
    return terminated;
  }

  private onLeaseLost(): void {
    this.log.warn(
      'lease lapsed (the process stalled longer than visibilityTimeout) and another worker returned the ' +
        'tasks reserved here to the queue: dropping those not started',
    );
    for (const h of this.scheduled) clearTimeout(h.timer);
    this.scheduled.clear();
    this.ready.length = 0;
    this.emit('lease-lost');
  }

  private get prefetch(): number {
    return this.concurrency * this.prefetchMultiplier;
  }

  private async consume(): Promise<void> {
    let failures = 0;
    while (this.running && this.consumer) {
      const capacity = this.prefetch - this.ready.length - this.active.size;
      if (capacity <= 0) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.consumer.reserve(capacity);
        if (failures > 0) this.log.info('broker connection restored, consuming again');
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1) this.log.warn({ err: (err as Error).message }, 'broker unavailable; retrying');
        await sleep(Math.min(2000, 100 * 2 ** failures));
        continue;
      }
      for (const d of deliveries) await this.receive(d);
      this.pump();
    }
  }

  private async deadLetter(d: Delivery, reason: string, request?: TaskRequest): Promise<void> {
    this.log.error({ queue: d.queue, reason }, 'message rejected to dead letters');
    const letterId = await this.consumer!.deadLetter(d, reason);
    this.emit('message-dead-lettered', { queue: d.queue, reason });
    const header = d.message?.headers?.id;
    const uuid = request?.id ?? (typeof header === 'string' ? header : null);
    if (uuid === null || letterId === null) return;
    // Celery's task-rejected (requeue false), plus where the message went, so monitors show its fate.
    this.events?.task('task-rejected', {
      uuid,
      requeue: false,
      name: request?.name,
      queue: d.queue,
      reason,
      dead_letter_queue: d.queue,
      dead_letter_id: letterId,
    });
  }

  private async receive(d: Delivery): Promise<void> {
    try {
      if (!d.message) return await this.deadLetter(d, d.envelopeError ?? 'unreadable envelope');
      let request: TaskRequest;
      try {
        request = decodeTaskMessage(d.message);
      } catch (err) {
        if (err instanceof MalformedMessageError) return await this.deadLetter(d, err.message);
        throw err;
      }
      const def = this.app.tasks.get(request.name);
      if (!def) {
        this.log.error(
          { task: request.name, id: request.id },
          `received unregistered task of type '${request.name}'`,
        );
        await this.storeException(request, 'FAILURE', new NotRegistered(request.name), null);
        return await this.deadLetter(d, `unregistered task ${JSON.stringify(request.name)}`, request);
      }
      const held: Held = { delivery: d, request, def, acknowledged: false };
      this.emit('task-received', request);
      this.events?.task('task-received', {
        uuid: request.id,
        name: request.name,
        args: request.argsrepr || argsRepr(request.args),
        kwargs: request.kwargsrepr || kwargsRepr(request.kwargs),
        root_id: request.rootId,
        parent_id: request.parentId,
        retries: request.retries,
        eta: request.eta?.toISOString() ?? null,
        expires: request.expires?.toISOString() ?? null,
        // Not in Celery's event: the queue, and the arguments as JSON so the console can retry the task.
        queue: d.queue,
        args_json: safeJson(request.args),
        kwargs_json: safeJson(request.kwargs),
      });
      if (this.discardIfRevoked(held)) return;
      if (request.eta && request.eta.getTime() > Date.now())
        return this.schedule(held, request.eta.getTime() - Date.now());
      this.ready.push(held);
    } catch (err) {
      // Redis failed mid-way: the message is still in our in-flight list and returns to the queue.
      this.log.error({ err: (err as Error).message }, 'could not handle a message; it stays in flight');
    }
  }

  /** Revoked or expired tasks are not run: REVOKED is stored and the message acknowledged. */
  private discardIfRevoked(h: Held): boolean {
    const { request } = h;
    const reason = this.revoked.has(request.id)
      ? 'revoked'
      : request.expires && request.expires.getTime() <= Date.now()
        ? 'expired'
        : null;
    if (!reason) return false;
    void this.finishRevoked(h, reason);
    return true;
  }

  private async finishRevoked(h: Held, reason: 'revoked' | 'expired' | 'terminated'): Promise<void> {
    this.log.info({ id: h.request.id, task: h.request.name, reason }, 'task discarded');
    try {
      await this.storeException(h.request, 'REVOKED', new TaskRevokedError(reason), null, h.def);
      if (!h.acknowledged) await this.consumer!.ack(h.delivery);
      h.acknowledged = true;
    } catch (err) {
      this.log.error({ err: (err as Error).message, id: h.request.id }, 'could not record a revoked task');
    }
    this.emit('task-revoked', h.request, { reason });
    this.events?.task('task-revoked', {
      uuid: h.request.id,
      terminated: reason === 'terminated',
      signum: reason === 'terminated' ? 15 : null,
      expired: reason === 'expired',
    });
  }

  private schedule(h: Held, delayMs: number): void {
    this.scheduled.add(h);
    h.timer = setTimeout(() => {
      this.scheduled.delete(h);
      if (!this.running) return;
      if (this.discardIfRevoked(h)) return;
      this.ready.unshift(h);
      this.pump();
    }, delayMs);
  }

  private bucket(def: TaskDefinition): TokenBucket | null {
    let b = this.buckets.get(def.name);
    if (b === undefined) {
      const override = this.taskLimits.get(def.name);
      const rate = parseRateLimit(
        override && override.rateLimit !== undefined ? override.rateLimit : def.options.rateLimit,
      );
      b = rate === null ? null : new TokenBucket(rate);
      this.buckets.set(def.name, b);
    }
    return b;
  }

  /** Starts ready tasks while slots are free. */
  private pump(): void {
    while (this.running && this.active.size < this.concurrency && this.ready.length > 0) {
      const h = this.ready.shift()!;
      const wait = this.bucket(h.def)?.take() ?? 0;
      if (wait > 0) {
        this.schedule(h, wait);
        continue;
      }
      void this.run(h);
    }
  }

  private async run(h: Held): Promise<void> {
    const { request, def, delivery } = h;
    const opts = this.effectiveOptions(def);
    this.active.set(request.id, h);
    try {
      if (!opts.acksLate) {
        await this.consumer!.ack(delivery);
        h.acknowledged = true;
      }
      if (this.revoked.has(request.id)) {
        await this.finishRevoked(h, 'revoked');
        return;
      }
      h.startedAt = Date.now();
      this.emit('task-started', request);
      this.events?.task('task-started', { uuid: request.id });
      if (opts.trackStarted && !this.ignoresResult(h)) {
        await this.app.backend?.store(
          request.id,
          'STARTED',
          JSON.stringify({ pid: process.pid, hostname: this.hostname }),
          { expires: this.settings.resultExpires },
        );
      }
      const [hard, soft] = request.timeLimit;
      const limits = this.taskLimits.get(def.name);
      let outcome: JobOutcome;
      try {
        outcome = await this.pool.execute({
          request,
          timeLimit: hard ?? limits?.timeLimit ?? opts.timeLimit,
          softTimeLimit: soft ?? limits?.softTimeLimit ?? opts.softTimeLimit,
          hostname: this.hostname,
          overrides: { maxRetries: opts.maxRetries, defaultRetryDelay: opts.defaultRetryDelay },
        });
      } catch (err) {
        if (!(err instanceof WorkerLostError)) throw err;
        if (this.active.get(request.id) !== h) return;
        if (opts.acksLate && opts.rejectOnWorkerLost) {
          // The message is still ours, unacknowledged: it goes back to the queue and runs again.
          this.log.warn({ id: request.id, task: request.name }, 'pool process lost; task requeued');
          await this.consumer!.requeue(delivery, 'back');
          this.events?.task('task-rejected', { uuid: request.id, requeue: true });
          return;
        }
        outcome = {
          kind: 'failure',
          exc: serializeException(err),
          traceback: null,
          runtime: (Date.now() - (h.startedAt ?? Date.now())) / 1000,
        };
      }
      if (this.active.get(request.id) !== h) return; // abandoned by a cold stop
      await this.finish(h, outcome);
      if (opts.acksLate) await this.consumer!.ack(delivery);
      this.processed++;
      this.totals.set(def.name, (this.totals.get(def.name) ?? 0) + 1);
    } catch (err) {
      // The result or ack could not be written (Redis away). With acksLate the message is still in flight
      // and will run again; without, the task ran and only its bookkeeping is lost.
      this.log.error(
        { err: (err as Error).message, id: request.id },
        'could not record the outcome of a task',
      );
    } finally {
      if (this.active.get(request.id) === h) this.active.delete(request.id);
      this.slotFreed?.();
      this.slotFreed = null;
      this.pump();
    }
  }

  private ignoresResult(h: Held): boolean {
    return h.def.options.ignoreResult || h.request.ignoreResult;
  }

  private async storeException(
    request: TaskRequest,
    status: string,
    err: unknown,
    traceback: string | null,
    def?: TaskDefinition,
  ): Promise<void> {
    if (!this.app.backend) return;
    if (def && (def.options.ignoreResult || request.ignoreResult)) return;
    await this.app.backend.store(request.id, status, JSON.stringify(serializeException(err)), {
      traceback,
      parentId: request.parentId,
      groupId: request.group,
      expires: this.settings.resultExpires,
    });
  }

  private async finish(h: Held, outcome: JobOutcome): Promise<void> {
    const { request } = h;
    const backend = this.ignoresResult(h) ? null : this.app.backend;
    const opts = {
      parentId: request.parentId,
      groupId: request.group,
      expires: this.settings.resultExpires,
    };
    switch (outcome.kind) {
      case 'success':
        await backend?.store(request.id, 'SUCCESS', outcome.resultJson, opts);
        this.emit('task-succeeded', request, outcome);
        this.events?.task('task-succeeded', {
          uuid: request.id,
          result: resultRepr(outcome.resultJson),
          runtime: outcome.runtime,
        });
        return;
      case 'failure': {
        if (outcome.exc.exc_type === 'TaskRevokedError') {
          await backend?.store(request.id, 'REVOKED', JSON.stringify(outcome.exc), opts);
          this.emit('task-revoked', request, { reason: 'terminated' });
          this.events?.task('task-revoked', {
            uuid: request.id,
            terminated: true,
            signum: 15,
            expired: false,
          });
          return;
        }
        await backend?.store(request.id, 'FAILURE', JSON.stringify(outcome.exc), {
          ...opts,
          traceback: outcome.traceback,
        });
        const exception = excRepr(outcome.exc);
        this.log.warn({ id: request.id, task: request.name, exception }, 'task failed');
        this.emit('task-failed', request, {
          exception,
          traceback: outcome.traceback,
          runtime: outcome.runtime,
        });
        this.events?.task('task-failed', {
          uuid: request.id,
          exception,
          traceback: outcome.traceback ?? '',
        });
        return;
      }
      case 'retry': {
        const eta = new Date(outcome.eta);
        // Re-send first: if we die between the two steps the task may run twice, never zero times.
        await this.app.sendTask(request.name, request.args, request.kwargs, {
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
        await backend?.store(request.id, 'RETRY', JSON.stringify(exc), {
          ...opts,
          traceback: outcome.traceback,
          children: [[[request.id, null], null]],
        });
        this.emit('task-retried', request, { exception: outcome.exc ? outcome.exc.exc_type : null, eta });
        this.events?.task('task-retried', {
          uuid: request.id,
          exception: excRepr(exc),
          traceback: outcome.traceback ?? '',
        });
        return;
      }
    }
  }

  /**
   * Stops the worker. Warm (default): stop consuming, finish running tasks, return reserved and ETA tasks to
   * the front of their queues. Cold: return everything not acknowledged at once, including running
   * `acksLate` tasks (they run again elsewhere), without waiting.
   */
  async stop(options: { cold?: boolean } = {}): Promise<void> {
    // A cold stop may follow a warm one that is still waiting (a second Ctrl-C): it escalates it.
    if (options.cold && !this.cold) {
      this.cold = true;
      this.abandonActive();
    }
    if (this.stopping) return this.stopping;
    if (!this.running) return;
    this.stopping = this.shutdown();
    return this.stopping;
  }

  private abandonActive(): void {
    for (const id of this.active.keys()) this.pool.terminate(id);
    this.active.clear();
    this.slotFreed?.();
    this.slotFreed = null;
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    for (const h of this.scheduled) clearTimeout(h.timer);
    this.scheduled.clear();
    this.ready.length = 0;
    if (this.revokedTimer) clearInterval(this.revokedTimer);
    this.slotFreed?.();
    const consumer = this.consumer!;
    while (this.active.size > 0) {
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
      });
    }
    await consumer.close();
    await this.loop;
    await this.unsubscribe?.();
    await this.events?.stop();
    await this.pool.stop();
    this.consumer = null;
    this.log.info({ processed: this.processed, cold: this.cold }, 'worker stopped');
    try {
      await this.app.hooks.run('workerShutdown', { hostname: this.hostname, pid: process.pid });
    } catch (err) {
      this.log.error({ err }, 'a workerShutdown hook failed');
    }
  }
}

function safeJson(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
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

/** `ValueError('boom')`, as Celery's events show exceptions. */
export function excRepr(exc: { exc_type: string; exc_message: unknown[] }): string {
  return `${exc.exc_type}(${exc.exc_message.map((m) => pyRepr(m)).join(', ')})`;
}
