/**
 * A worker's event dispatcher, as Celery's: worker-online at start, worker-heartbeat every `freq` seconds,
 * worker-offline at stop (always, with or without task events), and task events only while `taskEvents` is
 * on (`-E`, or the `enable_events` control command), buffered and sent as `task.multi` arrays.
 *
 * Events are fire and forget: a failed publish is logged once per outage and never reaches the caller, so
 * a broker hiccup cannot fail a task or stop the worker.
 */
import os from 'node:os';
import type { Logger } from '../logging';
import type { Broker } from '../broker/broker';
import { boundEventFields, encodeEvents, eventCommon, eventRoutingKey, makeEvent } from './codec';
import {
  EVENT_EXCHANGE,
  SW_IDENT,
  SW_VERSION,
  type CeleryEvent,
  type TaskEvent,
  type TaskEventType,
  type WorkerEventType,
} from './types';

/** Most events in one `task.multi` message; a fuller buffer is sent at once in several messages. */
export const MAX_EVENTS_PER_MESSAGE = 100;
/** A buffer that cannot be sent (broker away) keeps at most this many events; older ones are dropped. */
const MAX_BUFFERED = 10_000;

export interface WorkerEventPublisherOptions {
  /** The worker's node name (`name@host`). */
  hostname: string;
  /** Send task events (Celery: worker_send_task_events / `-E`, default false). Worker events are always sent. */
  taskEvents: boolean;
  /** Seconds between heartbeats (Celery: 2.0). */
  freq?: number;
  /**
   * The worker's figures for worker events: `active` and `processed`, plus any extra fields to merge into
   * every worker-* event (Lovage puts a `lovage` object here; Celery consoles ignore unknown fields).
   */
  stats: () => { active: number; processed: number } & Record<string, unknown>;
  logger?: Logger;
}

export class WorkerEventPublisher {
  /** Whether task events are sent; the `enable_events` / `disable_events` control commands flip it. */
  taskEvents: boolean;
  readonly hostname: string;
  readonly freq: number;
  private readonly stats: WorkerEventPublisherOptions['stats'];
  private readonly log: Logger | undefined;
  private clock = 0;
  private buffer: TaskEvent[] = [];
  private flushScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  /** Set while publishes fail, so an outage is logged once. */
  private failing = false;
  private dropped = 0;

  constructor(
    private readonly broker: Broker,
    opts: WorkerEventPublisherOptions,
  ) {
    this.hostname = opts.hostname;
    this.taskEvents = opts.taskEvents;
    this.freq = opts.freq ?? 2;
    this.stats = opts.stats;
    this.log = opts.logger;
  }

  /** Sends worker-online and starts the heartbeat timer. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    await this.sendWorkerEvent('worker-online', this.freq);
    this.timer = setInterval(
      () => void this.sendWorkerEvent('worker-heartbeat', this.freq),
      this.freq * 1000,
    );
    this.timer.unref();
  }

  /**
   * Queues a task event (fields are the type's own: `uuid`, `result`, …; the common ones are added here),
   * bounded in size (`boundEventFields`: reprs cut at 1024 characters as Celery cuts them).
   * Sent on the next tick together with whatever else was queued by then, as one `task.multi` message.
   */
  task(type: TaskEventType, fields: Record<string, unknown>): void {
    if (!this.taskEvents || this.stopped) return;
    this.buffer.push(makeEvent(type, eventCommon(this.hostname, ++this.clock), boundEventFields(fields)));
    if (this.buffer.length > MAX_BUFFERED) {
      this.dropped += this.buffer.length - MAX_BUFFERED;
      this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
    }
    if (this.buffer.length >= MAX_EVENTS_PER_MESSAGE) {
      void this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  /** Sends a worker-heartbeat now (the `heartbeat` control command asks for one with freq 5). */
  heartbeat(freq?: number): Promise<void> {
    return this.sendWorkerEvent('worker-heartbeat', freq ?? this.freq);
  }

  /** Sends the buffered task events now. */
  async flush(): Promise<void> {
    const sends: Promise<void>[] = [];
    // Batches are handed to the broker in order, on one connection, so they arrive in order.
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, MAX_EVENTS_PER_MESSAGE);
      sends.push(this.send('task.multi', batch));
    }
    await Promise.all(sends);
  }

  /** Sends what is buffered, then worker-offline, and stops the heartbeat timer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    this.stopped = true;
    if (this.started) await this.sendWorkerEvent('worker-offline', this.freq);
    this.started = false;
  }

  private sendWorkerEvent(type: WorkerEventType, freq: number): Promise<void> {
    let extra: Record<string, unknown>;
    try {
      extra = this.stats();
    } catch (err) {
      this.log?.warn({ err }, 'worker stats for the event failed');
      extra = { active: 0, processed: 0 };
    }
    const { active, processed, ...rest } = extra;
    const event = makeEvent(type, eventCommon(this.hostname, ++this.clock), {
      freq,
      active,
      processed,
      loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
      sw_ident: SW_IDENT,
      sw_ver: SW_VERSION,
      sw_sys: os.type(),
      ...rest,
    });
    return this.send(eventRoutingKey(type), event);
  }

  private async send(routingKey: string, events: CeleryEvent | CeleryEvent[]): Promise<void> {
    try {
      await this.broker.broadcast(EVENT_EXCHANGE, routingKey, encodeEvents(events, this.hostname));
      if (this.failing) {
        this.failing = false;
        this.log?.info({ dropped: this.dropped }, 'sending events works again');
        this.dropped = 0;
      }
    } catch (err) {
      this.dropped += Array.isArray(events) ? events.length : 1;
      if (!this.failing) {
        this.failing = true;
        this.log?.warn(
          { err, routingKey },
          'could not send events (they are dropped until this works again)',
        );
      }
    }
  }
}
