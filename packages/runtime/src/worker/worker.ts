/**
 * The worker: its lifecycle as ordered start and stop steps, and the state its parts share. The parts:
 * `consume-loop.ts` reserves within the prefetch window; `strategy.ts` decides what each message becomes
 * (dead letter, discarded, held for its ETA or rate limit, ready); `request.ts` runs one task (ack policy,
 * pool) and `outcome.ts` reports how it ended; `control/` answers remote control; `settings-apply.ts`
 * applies a stored settings version. They see the worker through `types.ts`, never this file.
 *
 * Acknowledgement follows Celery: on start by default, after the result is stored with `acksLate`.
 * Messages reserved but not started, and ETA tasks held in memory, stay in the broker's in-flight list under
 * this worker's lease until they run or the worker stops (they then go back to the front of their queue).
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { App } from '../app/app';
import type { Logger } from '../logging';
import { newConsumerId, type Consumer } from '../broker/broker';
import { WorkerEventPublisher } from '../events/publisher';
import { AsyncPool } from '../pool/async-pool';
import type { Pool } from '../pool/pool';
import type { TaskLimits, WorkerSettings } from '../settings/schema';
import { parseRateLimit } from '../task/rate-limit';
import type { ResolvedTaskOptions, TaskDefinition } from '../task/task';
import { consumeLoop, prefetchCount, SlotSignal } from './consume-loop';
import { listenForControl } from './control';
import { Outcomes } from './outcome';
import { TaskRunner } from './request';
import { applyStoredSettings } from './settings-apply';
import { MessageStrategy } from './strategy';
import type {
  Held,
  SettingsReport,
  SettingsSourceRef,
  WorkerControl,
  WorkerDescription,
  WorkerEvents,
} from './types';

/** Task options a worker's stored settings may set, where the task did not choose its own. */
const SETTING_OPTIONS = [
  'acksLate',
  'maxRetries',
  'defaultRetryDelay',
  'timeLimit',
  'softTimeLimit',
] as const satisfies readonly (keyof ResolvedTaskOptions & keyof WorkerSettings)[];

export type { Held, WorkerEvents } from './types';

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
  settingsSource?: SettingsSourceRef;
}

export class Worker extends EventEmitter<WorkerEvents> implements WorkerControl {
  readonly hostname: string;
  queues: string[];
  readonly prefetchMultiplier: number;
  readonly pool: Pool;
  readonly consumerId: string;
  readonly startedAt = Date.now();
  readonly log: Logger;
  readonly events: WorkerEventPublisher | null;
  settings: WorkerSettings;
  settingsSource: SettingsSourceRef | null;
  private applyingSettings: Promise<unknown> = Promise.resolve();
  private consumer: Consumer | null = null;
  /** Reserved, ready to run, waiting for a free slot. */
  readonly ready: Held[] = [];
  /** ETA tasks and rate-limited tasks waiting for their time. */
  readonly scheduled = new Set<Held>();
  readonly active = new Map<string, Held>();
  readonly revoked = new Set<string>();
  /** Per-task limits set at run time (remote control rate_limit/time_limit, console settings). */
  readonly taskLimits = new Map<string, TaskLimits>();
  /** Tasks finished per name, for `stats`. */
  readonly totals = new Map<string, number>();
  private readonly answerControl: boolean;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly slot = new SlotSignal();
  private readonly strategy: MessageStrategy;
  private readonly runner: TaskRunner;
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
    const outcomes = new Outcomes(this);
    const consumer = () => this.consumer!;
    this.runner = new TaskRunner(this, {
      outcomes,
      consumer,
      options: (def) => this.effectiveOptions(def),
      freed: () => this.slotFreed(),
    });
    this.strategy = new MessageStrategy(this, {
      outcomes,
      consumer,
      consumerId: this.consumerId,
      running: () => this.running,
      run: (h) => void this.runner.run(h),
      discard: (h, reason) => void this.runner.discard(h, reason),
    });
  }

  /** Tasks run at once: the pool's size (it grows and shrinks at run time). */
  get concurrency(): number {
    return this.pool.size;
  }

  /** What this worker runs with, for heartbeats, `stats` and the console's drift view. */
  describe(): WorkerDescription {
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
    // The pool takes the new size at once (jobs wait in it for executors still starting); start tasks now.
    const resizing = this.pool.resize(Math.max(1, Math.trunc(n)));
    this.slotFreed();
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
    // Called for every task: one copy and plain assignments (chained spreads are slow in V8).
    const out: Record<string, unknown> = Object.assign({}, def.options);
    for (const k of SETTING_OPTIONS) if (!own?.has(k) && s[k] !== undefined) out[k] = s[k];
    return out as unknown as ResolvedTaskOptions;
  }

  /** Sets a task's rate limit at run time: null runs it unlimited, undefined goes back to the task's own. */
  setRateLimit(name: string, rateLimit: string | null | undefined): void {
    parseRateLimit(rateLimit);
    this.taskLimits.set(name, { ...this.taskLimits.get(name), rateLimit });
    this.strategy.rateLimitChanged(name);
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

  /**
   * Start steps, in order: the broker answers; `workerInit` hooks; the pool; revoked ids; remote control;
   * the consumer and its loop; events (worker-online).
   */
  async start(): Promise<void> {
    if (this.running) return;
    await this.app.broker.ping();
    await this.app.hooks.run('workerInit', { hostname: this.hostname, pid: process.pid });
    this.running = true;
    await this.pool.start();
    for (const id of await this.app.state.revoked.current()) this.revoked.add(id);
    this.unsubscribe = await listenForControl(this, this.answerControl);
    // Broadcasts sent while we were disconnected are lost; the stored set catches them up.
    this.revokedTimer = setInterval(() => void this.reloadRevoked(), 30_000);
    this.revokedTimer.unref();
    await this.leavePausedQueues();
    this.consumer = this.app.broker.consumer({
      consumerId: this.consumerId,
      queues: this.queues,
      visibilityTimeout: this.settings.visibilityTimeout,
      prefetch: prefetchCount(this.concurrency, this.prefetchMultiplier),
      onDeliveriesLost: (reason) => this.onDeliveriesLost(reason),
      onRecordsRestored: (restored) =>
        this.log.warn(
          { restored, held: this.ready.length + this.scheduled.size + this.active.size },
          "the broker had lost this worker's lease and in-flight records (Redis restarted without its data?): " +
            're-registered, and the tasks held here are recorded again',
        ),
    });
    this.loop = consumeLoop({
      log: this.log,
      slot: this.slot,
      consumer: () => this.consumer,
      running: () => this.running,
      prefetch: () => prefetchCount(this.concurrency, this.prefetchMultiplier),
      holding: () => this.ready.length + this.active.size,
      waiting: () => this.scheduled.size,
      receive: (d) => this.strategy.receive(d),
      dispatch: () => this.strategy.dispatch(),
    });
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

  /**
   * Leaves out the queues paused for every worker (`pauseQueue`), noting this worker as waiting for each so
   * that resuming it names this worker too. Read after remote control listens: a pause recorded later
   * reaches this worker as `cancel_consumer`.
   */
  private async leavePausedQueues(): Promise<void> {
    const paused = new Set((await this.app.state.queues.paused()).map((p) => p.queue));
    const left = this.queues.filter((q) => paused.has(q));
    if (left.length === 0) return;
    this.queues = this.queues.filter((q) => !paused.has(q));
    for (const queue of left) await this.app.state.queues.waitFor(queue, this.hostname);
    this.log.warn(
      { paused: left, consuming: this.queues },
      this.queues.length === 0
        ? 'every queue of this worker is paused: it runs nothing until one is resumed'
        : 'queues paused for every worker are left out until they are resumed',
    );
  }

  private async reloadRevoked(): Promise<void> {
    try {
      for (const id of await this.app.state.revoked.current()) this.revoked.add(id);
    } catch {
      // Redis away; the next tick tries again.
    }
  }

  /** Flags tasks as revoked; with `terminate`, stops the ones running here. Returns the ids terminated. */
  revokeTasks(ids: string[], terminate: boolean): string[] {
    const terminated: string[] = [];
    for (const id of ids) {
      this.revoked.add(id);
      if (terminate && this.active.has(id) && this.pool.terminate(id)) terminated.push(id);
    }
    this.strategy.discardHeld(new Set(ids));
    this.slot.fire();
    return terminated;
  }

  /** The broker took back what we held: the tasks not started are in their queues again, so drop them. */
  private onDeliveriesLost(reason: string): void {
    this.log.warn({ reason }, 'the broker took back the tasks reserved here: dropping those not started');
    this.strategy.dropHeld();
    this.emit('deliveries-lost', reason);
  }

  /** A slot is free (a task ended, the pool grew): wake the loop and start what is ready. */
  private slotFreed(): void {
    this.slot.fire();
    this.strategy.dispatch();
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
    this.slot.fire();
  }

  /**
   * Stop steps, in order: nothing new starts and held tasks are dropped; running tasks finish; the
   * consumer closes (returning what it holds) and its loop ends; remote control; events (worker-offline);
   * the pool; `workerShutdown` hooks.
   */
  private async shutdown(): Promise<void> {
    this.running = false;
    this.strategy.dropHeld();
    if (this.revokedTimer) clearInterval(this.revokedTimer);
    this.slot.fire();
    const consumer = this.consumer!;
    while (this.active.size > 0) await this.slot.wait();
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
