/**
 * The monitor: receives every event on the broker and folds it into the task index, in batches. Under
 * load the batches grow by themselves (events keep arriving while the previous batch is applied), so one
 * monitor keeps up with tens of thousands of events a second; several monitors may run at once (the fold
 * is idempotent). Like `celery events`, it asks every worker for a heartbeat when it starts, so the
 * worker list fills at once.
 *
 * Bursts: pub/sub keeps nothing, and Redis cuts a subscriber whose unread output passes 32 MB
 * (client-output-buffer-limit pubsub), so the monitor reads the socket at full speed whatever the fold's
 * pace: messages are queued undecoded (one copy) and decoded only when their batch is applied, bounded by
 * bytes (`maxPendingBytes`), not by count. Any loss is logged as a warning with counts (events dropped
 * in-process past that bound; the subscription cut and re-established), counted in `stats`, and followed by
 * a repair of the index from the result backend (repair.ts).
 */
import type { App } from '../app/app';
import { isApp } from '../app/app';
import type { Logger } from '../logging';
import type { ResultBackend } from '../backend/backend';
import type { Broker } from '../broker/broker';
import { encodeControlRequest, PIDBOX_EXCHANGE } from '../control/mailbox';
import { decodeEvents } from '../events/codec';
import { EventReceiver } from '../events/receiver';
import type { CeleryEvent } from '../events/types';
import type { InboundMessage } from '../protocol/message';
import { IndexRepair, type RepairReport } from './repair';
import type { TaskIndex } from './task-index';

export interface MonitorOptions {
  logger?: Logger;
  /** Most events applied in one batch (1000). */
  batchSize?: number;
  /** Batches applied at once (2): one is prepared while Redis folds the other. */
  concurrency?: number;
  /**
   * Bytes of received event messages held while the fold catches up or Redis is unreachable (256 MB);
   * beyond this the oldest are dropped, with a warning and a repair.
   */
  maxPendingBytes?: number;
  /** Seconds between trims of the index (60). */
  trimInterval?: number;
  /** When the monitor builds its own index from an app: most tasks kept (1,000,000). */
  maxTasks?: number;
  /** When the monitor builds its own index from an app: seconds a task is kept (7 days). */
  maxAgeSeconds?: number;
  /** Broadcast the `heartbeat` control command on start so workers report at once (true). */
  wakeWorkers?: boolean;
  /**
   * The result backend to repair the index from after a loss (from an app: its backend). Without one, losses
   * are only reported. The monitor reads through it and does not close it: its owner does.
   */
  resultBackend?: ResultBackend | null;
  /**
   * After a loss, also scan the backend for results of tasks the index never saw (true). Results of another
   * broker sharing that backend database would be added too.
   */
  repairScan?: boolean;
  /** Milliseconds without further loss before a repair starts (2000). */
  repairDelayMs?: number;
  /**
   * Called with each batch once it is folded (never twice for a batch whose apply was retried): what the
   * `lovage monitor` metrics count. Synchronous and on the fold's path, so it must be cheap.
   */
  onApplied?: (events: readonly CeleryEvent[]) => void;
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
  /**
   * Received and not applied yet: messages not decoded yet (a `task.multi` message holds up to 100 events),
   * plus one while decoded events wait for a batch. 0 once caught up.
   */
  pending: number;
  /** Bytes of those messages. */
  pendingBytes: number;
  /** Events dropped in-process because more than `maxPendingBytes` were waiting. */
  dropped: number;
  /** Times the event subscription was cut (events sent until it was back are lost). */
  subscriberCuts: number;
  /** Repairs from the result backend run after a loss. */
  repairs: number;
  /** Whether a repair is running or scheduled. */
  repairing: boolean;
  /** Tasks whose final state repairs took from the result backend. */
  repaired: number;
  /** Tasks repairs added from the result backend that the index had never seen. */
  repairAdded: number;
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
  private readonly maxPendingBytes: number;
  private readonly trimEveryMs: number;
  private readonly wakeWorkers: boolean;
  private readonly receiver: EventReceiver;
  private readonly repairer: IndexRepair | null;
  private readonly repairScan: boolean;
  private readonly repairDelayMs: number;
  private readonly onApplied: ((events: readonly CeleryEvent[]) => void) | undefined;
  /** Received, not decoded yet. */
  private raw: InboundMessage[] = [];
  private rawHead = 0;
  private rawBytes = 0;
  /** The last message read, to date a loss: what Redis sent after it is what may be lost. */
  private lastMessage: InboundMessage | null = null;
  /** Decoded, waiting for a batch. */
  private ready: CeleryEvent[] = [];
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
  private subscriberCuts = 0;
  private failedApplies = 0;
  private lastError: string | null = null;
  private failing = false;
  private rate = 0;
  private rateSample = { at: 0, processed: 0 };
  /** Epoch ms since when events may have been lost and not repaired yet. */
  private lossSince: number | null = null;
  private droppedSinceWarning = 0;
  /** The subscription is cut: a repair now would miss what is still being lost. */
  private linkDown = false;
  private repairTimer: NodeJS.Timeout | null = null;
  private repairing: Promise<void> | null = null;
  private stopRepair = new AbortController();
  private repairs = 0;
  private repaired = 0;
  private repairAdded = 0;

  constructor(source: App | { broker: Broker; index: TaskIndex }, opts: MonitorOptions = {}) {
    let backend = opts.resultBackend ?? null;
    if (isApp(source)) {
      this.broker = source.broker;
      this.index = source.state.taskIndex({ maxTasks: opts.maxTasks, maxAgeSeconds: opts.maxAgeSeconds });
      this.ownsIndex = true;
      this.log = (opts.logger ?? source.logger).child({ component: 'monitor' });
      if (opts.resultBackend === undefined) backend = source.backend;
    } else {
      this.broker = source.broker;
      this.index = source.index;
      this.ownsIndex = false;
      this.log = opts.logger?.child({ component: 'monitor' });
    }
    this.batchSize = Math.max(1, opts.batchSize ?? 1000);
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
    this.maxPendingBytes = Math.max(1, opts.maxPendingBytes ?? 256 * 1024 * 1024);
    this.trimEveryMs = Math.max(1, opts.trimInterval ?? 60) * 1000;
    this.wakeWorkers = opts.wakeWorkers ?? true;
    this.receiver = new EventReceiver(this.broker);
    this.repairer = backend ? new IndexRepair(this.index, backend) : null;
    this.repairScan = opts.repairScan ?? true;
    this.repairDelayMs = Math.max(0, opts.repairDelayMs ?? 2000);
    this.onApplied = opts.onApplied;
  }

  get stats(): MonitorStats {
    return {
      eventsPerSecond: this.rate,
      processed: this.processed,
      malformed: this.receiver.malformed,
      ignored: this.receiver.ignored,
      pending: this.raw.length - this.rawHead + (this.ready.length > 0 ? 1 : 0),
      pendingBytes: this.rawBytes,
      dropped: this.dropped,
      subscriberCuts: this.subscriberCuts,
      repairs: this.repairs,
      repairing: this.repairing !== null || this.repairTimer !== null,
      repaired: this.repaired,
      repairAdded: this.repairAdded,
      failedApplies: this.failedApplies,
      lastError: this.lastError ?? this.receiver.lastError,
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.paused = false;
    await this.receiver.startRaw(
      (message) => this.enqueue(message),
      (state) => this.onLink(state),
    );
    this.rateSample = { at: Date.now(), processed: this.processed };
    this.rateTimer = setInterval(() => this.sampleRate(), 1000);
    this.rateTimer.unref();
    this.trimTimer = setInterval(() => void this.runTrim(), this.trimEveryMs);
    this.trimTimer.unref();
    void this.runTrim();
    if (this.wakeWorkers) {
      try {
        await this.broker.broadcast(PIDBOX_EXCHANGE, '', encodeControlRequest('heartbeat', {}));
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
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.rateTimer = this.trimTimer = this.repairTimer = null;
    // One last pass: what is still pending is applied unless Redis is away.
    await this.idle();
    const rest = this.takeBatch(Infinity);
    if (rest.length > 0) {
      try {
        await this.index.apply(rest);
        this.processed += rest.length;
        this.onApplied?.(rest);
      } catch (err) {
        this.log?.warn({ err, events: rest.length }, 'events received before stopping could not be applied');
      }
    }
    // No retry timer may apply to a closed index; a repair under way stops at its next step.
    this.paused = true;
    this.stopRepair.abort();
    await Promise.all([this.trimming, this.repairing]);
    this.stopRepair = new AbortController();
    if (this.lossSince !== null) {
      this.log?.warn(
        { dropped: this.dropped, subscriberCuts: this.subscriberCuts },
        'stopping with events lost and not repaired: the index may miss tasks or show old states',
      );
    }
    if (this.ownsIndex) await this.index.close();
    this.log?.info(
      { processed: this.processed, malformed: this.receiver.malformed, ...this.lossFigures() },
      'monitor stopped',
    );
  }

  /** Resolves once everything received so far is applied (or applying is paused by a failure). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** On the read path: one push, nothing decoded, so the socket is emptied as fast as it fills. */
  private enqueue(message: InboundMessage): void {
    this.raw.push(message);
    this.lastMessage = message;
    this.rawBytes += message.body.length;
    if (this.rawBytes > this.maxPendingBytes) this.dropOldest();
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

  private dropOldest(): void {
    let events = 0;
    let since = Date.now();
    while (this.rawBytes > this.maxPendingBytes && this.rawHead < this.raw.length) {
      const message = this.raw[this.rawHead]!;
      this.raw[this.rawHead++] = undefined as unknown as InboundMessage;
      this.rawBytes -= message.body.length;
      // Decoded only to count them and date the loss (the repair looks from there on).
      for (const e of this.receiver.decode(message)) {
        events++;
        if (typeof e.timestamp === 'number') since = Math.min(since, e.timestamp * 1000);
      }
    }
    this.compact();
    this.dropped += events;
    if (this.droppedSinceWarning === 0) {
      this.log?.warn(
        { dropped: events, maxPendingBytes: this.maxPendingBytes },
        'EVENTS LOST: more events are waiting than maxPendingBytes allows; dropping the oldest (the index will be repaired from the result backend)',
      );
    }
    this.droppedSinceWarning += events;
    this.lossAt(since);
  }

  private onLink(state: 'lost' | 'restored'): void {
    if (state === 'lost') {
      this.subscriberCuts++;
      this.log?.warn(
        { subscriberCuts: this.subscriberCuts },
        'EVENTS LOST: the event subscription was cut (Redis cuts a subscriber that reads too slowly: client-output-buffer-limit pubsub); events sent until it is back are missed',
      );
      this.linkDown = true;
      this.lossAt(this.lastEventTime());
    } else {
      this.linkDown = false;
      this.log?.warn('the event subscription is back; the index will be repaired from the result backend');
      this.scheduleRepair();
    }
  }

  /** Epoch ms of the latest event of the last message read (now if none): lost events came after it. */
  private lastEventTime(): number {
    let at = 0;
    try {
      if (this.lastMessage)
        for (const e of decodeEvents(this.lastMessage)) at = Math.max(at, e.timestamp * 1000);
    } catch {
      // Malformed: the time of the cut will do.
    }
    return at > 0 ? Math.min(at, Date.now()) : Date.now();
  }

  private lossAt(since: number): void {
    this.lossSince = Math.min(this.lossSince ?? since, since);
    this.scheduleRepair();
  }

  /** A repair once losses have stopped for `repairDelayMs` (each new loss pushes it back). */
  private scheduleRepair(): void {
    if (!this.running || this.linkDown) return;
    if (!this.repairer) {
      if (this.lossSince !== null) {
        this.log?.warn('no result backend to repair the index from: lost task states stay as they are');
        this.lossSince = null;
      }
      return;
    }
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.repairTimer = setTimeout(() => {
      this.repairTimer = null;
      if (this.repairing) return this.scheduleRepair();
      this.repairing = this.repair().finally(() => {
        this.repairing = null;
      });
    }, this.repairDelayMs);
    this.repairTimer.unref();
  }

  private async repair(): Promise<void> {
    const since = this.lossSince;
    if (since === null || !this.repairer) return;
    this.lossSince = null;
    if (this.droppedSinceWarning > 0) {
      this.log?.warn({ dropped: this.droppedSinceWarning }, 'events were dropped');
      this.droppedSinceWarning = 0;
    }
    // What was received before the repair is applied first, so the repair sees the index at its best.
    await this.idle();
    let report: RepairReport;
    try {
      report = await this.repairer.run(since, { scan: this.repairScan, signal: this.stopRepair.signal });
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log?.error({ err }, 'could not repair the index from the result backend (retrying)');
      this.lossAt(since);
      return;
    }
    // Cut short by stop(): stop() says the loss is not fully repaired.
    if (this.stopRepair.signal.aborted) this.lossSince = since;
    this.repairs++;
    this.repaired += report.repaired;
    this.repairAdded += report.added;
    this.log?.warn(
      { ...report, since: new Date(since).toISOString(), ...this.lossFigures() },
      'repaired the task index from the result backend after losing events',
    );
  }

  private lossFigures() {
    return {
      dropped: this.dropped,
      subscriberCuts: this.subscriberCuts,
      repaired: this.repaired,
      repairAdded: this.repairAdded,
    };
  }

  /** Up to `size` events: decoded ones first, then raw messages decoded as needed. */
  private takeBatch(size: number): CeleryEvent[] {
    while (this.ready.length < size && this.rawHead < this.raw.length) {
      const message = this.raw[this.rawHead]!;
      this.raw[this.rawHead++] = undefined as unknown as InboundMessage;
      this.rawBytes -= message.body.length;
      for (const e of this.receiver.decode(message)) this.ready.push(e);
    }
    this.compact();
    return this.ready.length <= size ? this.ready.splice(0) : this.ready.splice(0, size);
  }

  /** Drops the consumed head of the raw queue now and then (shift() on a long array is O(n)). */
  private compact(): void {
    if (this.rawHead === this.raw.length) {
      this.raw = [];
      this.rawHead = 0;
    } else if (this.rawHead > 4096 && this.rawHead * 2 > this.raw.length) {
      this.raw = this.raw.slice(this.rawHead);
      this.rawHead = 0;
    }
  }

  private hasPending(): boolean {
    return this.ready.length > 0 || this.rawHead < this.raw.length;
  }

  /**
   * Starts applies while fewer than `concurrency` are in flight. The fold is order-tolerant, so two batches
   * in flight are safe, and preparing one while Redis runs the other keeps both cores busy.
   */
  private pump(): void {
    while (!this.paused && this.inFlight < this.concurrency && this.hasPending()) {
      const batch = this.takeBatch(this.batchSize);
      if (batch.length === 0) continue;
      this.inFlight++;
      void this.applyBatch(batch).finally(() => {
        this.inFlight--;
        // The next batch on a later turn: reading the socket comes first.
        setImmediate(() => {
          this.pump();
          this.settle();
        });
      });
    }
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && !this.pumpScheduled && (!this.hasPending() || this.paused);
  }

  private settle(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async applyBatch(batch: CeleryEvent[]): Promise<void> {
    try {
      await this.index.apply(batch);
      this.processed += batch.length;
      this.onApplied?.(batch);
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
      this.ready.unshift(...batch);
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
