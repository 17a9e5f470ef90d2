/**
 * The monitor: receives every event on the broker and folds it into the task index, in batches. Under
 * load the batches grow by themselves (events keep arriving while the previous batch is applied), so one
 * monitor keeps up with tens of thousands of events a second; several monitors may run at once (the fold
 * is idempotent). Like `celery events`, it asks every worker for a heartbeat when it starts, so the
 * worker list fills at once.
 */
import type { App } from '../app/app';
import { isApp } from '../app/app';
import type { Logger } from '../app/logger';
import type { Broker } from '../broker/broker';
import { encodeControlRequest, PIDBOX_EXCHANGE } from '../control/mailbox';
import { EventReceiver } from '../events/receiver';
import type { CeleryEvent } from '../events/types';
import { TaskIndex } from './task-index';

export interface MonitorOptions {
  logger?: Logger;
  /** Most events applied in one batch (1000). */
  batchSize?: number;
  /** Batches applied at once (2): one is prepared while Redis folds the other. */
  concurrency?: number;
  /** Events held while Redis is unreachable; beyond this the oldest are dropped (100,000). */
  maxPending?: number;
  /** Seconds between trims of the index (60). */
  trimInterval?: number;
  /** When the monitor builds its own index from an app: most tasks kept (1,000,000). */
  maxTasks?: number;
  /** When the monitor builds its own index from an app: seconds a task is kept (7 days). */
  maxAgeSeconds?: number;
  /** Broadcast the `heartbeat` control command on start so workers report at once (true). */
  wakeWorkers?: boolean;
}

export interface MonitorStats {
  /** Events applied per second, over the last few seconds. */
  eventsPerSecond: number;
  /** Events applied since start. */
  processed: number;
  /** Event messages (or batch elements) that could not be read and were skipped. */
  malformed: number;
  /** Events of types the index does not fold. */
  ignored: number;
  /** Events received and not applied yet. */
  pending: number;
  /** Events dropped because Redis stayed unreachable and too many were pending. */
  dropped: number;
  /** Batches whose apply failed (they are retried). */
  failedApplies: number;
  /** The last apply or read problem, if any. */
  lastError: string | null;
}

export class Monitor {
  readonly broker: Broker;
  readonly index: TaskIndex;
  private readonly ownsIndex: boolean;
  private readonly log: Logger | undefined;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly trimEveryMs: number;
  private readonly wakeWorkers: boolean;
  private readonly receiver: EventReceiver;
  private pending: CeleryEvent[] = [];
  private readonly concurrency: number;
  private inFlight = 0;
  private pumpScheduled = false;
  private paused = false;
  private idleWaiters: (() => void)[] = [];
  private running = false;
  private trimTimer: NodeJS.Timeout | null = null;
  private rateTimer: NodeJS.Timeout | null = null;
  private trimming: Promise<void> | null = null;
  private processed = 0;
  private dropped = 0;
  private failedApplies = 0;
  private lastError: string | null = null;
  private failing = false;
  private rate = 0;
  private rateSample = { at: 0, processed: 0 };

  constructor(source: App | { broker: Broker; index: TaskIndex }, opts: MonitorOptions = {}) {
    if (isApp(source)) {
      this.broker = source.broker;
      this.index = new TaskIndex(source.config.broker, {
        prefix: source.config.brokerTransportOptions.globalKeyprefix,
        maxTasks: opts.maxTasks,
        maxAgeSeconds: opts.maxAgeSeconds,
      });
      this.ownsIndex = true;
      this.log = (opts.logger ?? source.logger).child({ component: 'monitor' });
    } else {
      this.broker = source.broker;
      this.index = source.index;
      this.ownsIndex = false;
      this.log = opts.logger?.child({ component: 'monitor' });
    }
    this.batchSize = Math.max(1, opts.batchSize ?? 1000);
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
    this.maxPending = Math.max(this.batchSize, opts.maxPending ?? 100_000);
    this.trimEveryMs = Math.max(1, opts.trimInterval ?? 60) * 1000;
    this.wakeWorkers = opts.wakeWorkers ?? true;
    this.receiver = new EventReceiver(this.broker);
  }

  get stats(): MonitorStats {
    return {
      eventsPerSecond: this.rate,
      processed: this.processed,
      malformed: this.receiver.malformed,
      ignored: this.receiver.ignored,
      pending: this.pending.length,
      dropped: this.dropped,
      failedApplies: this.failedApplies,
      lastError: this.lastError ?? this.receiver.lastError,
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.paused = false;
    await this.receiver.start((events) => this.enqueue(events));
    this.rateSample = { at: Date.now(), processed: this.processed };
    this.rateTimer = setInterval(() => this.sampleRate(), 1000);
    this.rateTimer.unref();
    this.trimTimer = setInterval(() => void this.runTrim(), this.trimEveryMs);
    this.trimTimer.unref();
    void this.runTrim();
    if (this.wakeWorkers) {
      try {
        await this.broker.publishFanout(PIDBOX_EXCHANGE, '', encodeControlRequest('heartbeat', {}));
      } catch (err) {
        this.log?.warn({ err }, 'could not ask the workers for a heartbeat');
      }
    }
    this.log?.info({ broker: this.broker.displayUrl, index: this.index.base }, 'monitor started');
  }

  /** Stops receiving, applies what was received, and closes the index if the monitor created it. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.receiver.stop();
    if (this.rateTimer) clearInterval(this.rateTimer);
    if (this.trimTimer) clearInterval(this.trimTimer);
    this.rateTimer = this.trimTimer = null;
    // One last pass: what is still pending is applied unless Redis is away.
    await this.idle();
    if (this.pending.length > 0) {
      try {
        await this.index.apply(this.pending.splice(0));
      } catch (err) {
        this.log?.warn({ err }, 'events received before stopping could not be applied');
      }
    }
    // No retry timer may apply to a closed index.
    this.paused = true;
    await this.trimming;
    if (this.ownsIndex) await this.index.close();
    this.log?.info({ processed: this.processed, malformed: this.receiver.malformed }, 'monitor stopped');
  }

  /** Resolves once everything received so far is applied (or applying is paused by a failure). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(events: CeleryEvent[]): void {
    for (const e of events) this.pending.push(e);
    if (this.pending.length > this.maxPending) {
      const excess = this.pending.length - this.maxPending;
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      // Let the rest of this tick's messages join the batch.
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
        this.settle();
      });
    }
  }

  /**
   * Starts applies while fewer than `concurrency` are in flight. The fold is order-tolerant, so two batches
   * in flight are safe, and preparing one while Redis runs the other keeps both cores busy.
   */
  private pump(): void {
    while (!this.paused && this.inFlight < this.concurrency && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.batchSize);
      this.inFlight++;
      void this.applyBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
        this.settle();
      });
    }
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && !this.pumpScheduled && (this.pending.length === 0 || this.paused);
  }

  private settle(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async applyBatch(batch: CeleryEvent[]): Promise<void> {
    try {
      await this.index.apply(batch);
      this.processed += batch.length;
      if (this.failing) {
        this.failing = false;
        this.log?.info('applying events works again');
      }
    } catch (err) {
      this.failedApplies++;
      this.lastError = (err as Error).message;
      if (!this.failing) {
        this.failing = true;
        this.log?.error({ err }, 'could not apply events to the index (retrying)');
      }
      // Back in front, and a pause before the next try (Redis is likely away).
      this.pending.unshift(...batch);
      if (!this.paused && this.running) {
        this.paused = true;
        setTimeout(() => {
          this.paused = false;
          this.pump();
        }, 1000).unref();
      }
    }
  }

  private sampleRate(): void {
    const now = Date.now();
    const dt = (now - this.rateSample.at) / 1000;
    if (dt <= 0) return;
    const current = (this.processed - this.rateSample.processed) / dt;
    // Smooth over a few seconds so the figure does not jump with each batch.
    this.rate = Math.round(this.rate * 0.5 + current * 0.5);
    this.rateSample = { at: now, processed: this.processed };
  }

  private runTrim(): Promise<void> {
    this.trimming ??= (async () => {
      try {
        const removed = await this.index.trim();
        if (removed > 0) this.log?.debug({ removed }, 'trimmed the task index');
      } catch (err) {
        this.lastError = (err as Error).message;
        this.log?.warn({ err }, 'could not trim the task index');
      } finally {
        this.trimming = null;
      }
    })();
    return this.trimming;
  }
}
