/**
 * The cluster's figures for `lovage monitor --metrics-port`, as celery-exporter serves them from the event
 * stream: tasks by name, state, worker host and queue, the runtime histogram, workers up and their active
 * tasks from heartbeats, and queue lengths (and consumers) polled from the broker's `queueStats` at each
 * scrape. Lovage adds the wait before a task started (from `task-sent` when the client sends it, else from
 * `task-received`), the events the monitor folded, and what it lost or could not read.
 *
 * Celery's task events after `task-received` carry only the task's id, so the name, queue and times are kept
 * per id until the task ends, at most `MAX_TRACKED` of them (the oldest forgotten first), like Celery's
 * `events.State(max_tasks_in_memory)`.
 */
import type { Broker, CeleryEvent, MonitorStats, QueueRegistry } from '@lovage/runtime';
import { Counter, Gauge, type Registry } from 'prom-client';
import { exceptionClass, nodeHost, TaskSeries } from './task-series';

/** Tasks whose name and times are remembered between their events. */
const MAX_TRACKED = 100_000;
/** How long one scrape waits for the broker's queue counts before it serves the last ones. */
const QUEUE_STATS_TIMEOUT_MS = 3000;
/** celery-exporter's fallback when a task's queue is not known (no task-sent seen). */
const UNKNOWN_QUEUE = 'celery';
const UNKNOWN_NAME = 'unknown';

interface Tracked {
  name: string;
  queue: string;
  /** Epoch seconds of task-sent, else task-received: where the wait starts. */
  since: number | null;
}

interface WorkerSeen {
  /** Epoch ms this monitor last heard from it (its own clock, so skewed hosts do not look dead). */
  at: number;
  freq: number;
  active: number;
  offline: boolean;
}

export interface MonitorMetricsSources {
  broker: Broker;
  /** The queues published to (the state store's registry), polled for their lengths. */
  queues: QueueRegistry;
  stats: () => MonitorStats;
}

export class MonitorMetrics {
  private readonly tasks: TaskSeries;
  private readonly tracked = new Map<string, Tracked>();
  private readonly workers = new Map<string, WorkerSeen>();
  /** Queues seen in events: polled too, even before the registry lists them. */
  private readonly seenQueues = new Set<string>();
  private readonly folded: Counter<'type'>;
  private readonly foldedByType = new Map<string, { inc(): void }>();
  private queueLength: Gauge<'queue_name'> | null = null;
  private queueConsumers: Gauge<'queue_name'> | null = null;
  private queueUnacked: Gauge<'queue_name'> | null = null;
  private polling: Promise<boolean> | null = null;

  constructor(
    registry: Registry,
    private readonly sources: MonitorMetricsSources,
    private readonly now: () => number = Date.now,
  ) {
    this.tasks = new TaskSeries(registry, {
      waitHelp: 'Seconds from task-sent (else task-received) to task-started, from the events.',
    });
    this.folded = new Counter({
      name: 'lovage_monitor_events_folded_total',
      help: 'Events this monitor folded into the task index, by event type.',
      labelNames: ['type'],
      registers: [registry],
    });
    this.workerGauges(registry);
    this.queueGauges(registry);
    this.monitorFigures(registry);
  }

  /** The Monitor's `onApplied`: counts a folded batch. */
  readonly observe = (events: readonly CeleryEvent[]): void => {
    for (const event of events) this.one(event);
  };

  private one(e: CeleryEvent): void {
    let folded = this.foldedByType.get(e.type);
    if (!folded) this.foldedByType.set(e.type, (folded = this.folded.labels({ type: e.type })));
    folded.inc();
    if (e.type === 'worker-online' || e.type === 'worker-heartbeat' || e.type === 'worker-offline') {
      this.workers.set(nodeHost(e.hostname), {
        at: this.now(),
        freq: e.freq,
        active: e.active,
        offline: e.type === 'worker-offline',
      });
      return;
    }
    const host = nodeHost(e.hostname);
    switch (e.type) {
      case 'task-sent': {
        // Sent and worker events travel apart: a task-sent read after the worker's events only names the queue.
        const known = this.tracked.get(e.uuid);
        if (known) known.queue = e.queue;
        else this.track(e.uuid, { name: e.name, queue: e.queue, since: e.timestamp });
        this.seenQueues.add(e.queue);
        return this.series(e.uuid, host).count('sent');
      }
      case 'task-received': {
        const known = this.tracked.get(e.uuid);
        // Lovage's task-received names the queue; Celery's does not (the task-sent did, if it was seen).
        const queue = typeof e.queue === 'string' ? e.queue : (known?.queue ?? UNKNOWN_QUEUE);
        if (typeof e.queue === 'string') this.seenQueues.add(e.queue);
        // A retry is received again under the same id: its wait starts anew.
        this.track(e.uuid, { name: e.name, queue, since: known?.since ?? e.timestamp });
        return this.series(e.uuid, host).count('received');
      }
      case 'task-started': {
        const series = this.series(e.uuid, host);
        series.count('started');
        const known = this.tracked.get(e.uuid);
        if (known?.since != null) {
          series.wait.observe(Math.max(0, e.timestamp - known.since));
          known.since = null;
        }
        return;
      }
      case 'task-succeeded': {
        const series = this.series(e.uuid, host);
        series.count('succeeded');
        if (typeof e.runtime === 'number') series.runtime.observe(e.runtime);
        this.tracked.delete(e.uuid);
        return;
      }
      case 'task-failed':
        this.series(e.uuid, host).failed(exceptionClass(e.exception));
        this.tracked.delete(e.uuid);
        return;
      // The retry's own task-received may come first (the worker re-sends, then reports): `since` stays.
      case 'task-retried':
        this.series(e.uuid, host).count('retried');
        return;
      case 'task-revoked':
        this.series(e.uuid, host).count('revoked');
        this.tracked.delete(e.uuid);
        return;
      case 'task-rejected':
        this.series(e.uuid, host).count('rejected');
        return;
    }
  }

  private series(uuid: string, host: string) {
    const known = this.tracked.get(uuid);
    return this.tasks.of(known?.name ?? UNKNOWN_NAME, host, known?.queue ?? UNKNOWN_QUEUE);
  }

  private track(uuid: string, task: Tracked): void {
    if (!this.tracked.has(uuid) && this.tracked.size >= MAX_TRACKED) {
      const oldest = this.tracked.keys().next();
      if (!oldest.done) this.tracked.delete(oldest.value);
    }
    this.tracked.set(uuid, task);
  }

  /** Celery's `WorkerState.alive`: a heartbeat within twice its `freq` (HEARTBEAT_EXPIRE_WINDOW 200%). */
  private alive(w: WorkerSeen): boolean {
    return !w.offline && this.now() < w.at + w.freq * 2 * 1000;
  }

  private workerGauges(registry: Registry): void {
    const workers = this.workers;
    const alive = (w: WorkerSeen) => this.alive(w);
    new Gauge({
      name: 'celery_worker_up',
      help: 'Indicates if a worker has recently sent a heartbeat.',
      labelNames: ['hostname'],
      registers: [registry],
      collect() {
        for (const [hostname, w] of workers) this.set({ hostname }, alive(w) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'celery_worker_tasks_active',
      help: 'The number of tasks the worker is currently processing',
      labelNames: ['hostname'],
      registers: [registry],
      collect() {
        for (const [hostname, w] of workers) this.set({ hostname }, alive(w) ? w.active : 0);
      },
    });
  }

  /**
   * Polled once per scrape: prom-client collects every metric at once, so the four gauges share one poll
   * (the first to collect starts it, the others wait for it).
   */
  private queueGauges(registry: Registry): void {
    const poll = () => (this.polling ??= this.pollQueues().finally(() => (this.polling = null)));
    const gauge = (name: string, help: string, labelNames: 'queue_name'[]) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect: () => poll().then(() => undefined),
      });
    this.queueLength = gauge('celery_queue_length', 'The number of message in broker queue.', ['queue_name']);
    this.queueConsumers = gauge(
      'celery_active_consumer_count',
      'The number of active consumer in broker queue.',
      ['queue_name'],
    );
    this.queueUnacked = gauge(
      'lovage_queue_unacked',
      'Messages of the queue delivered to workers and not acknowledged yet (Redis: the in-flight lists).',
      ['queue_name'],
    );
    new Gauge({
      name: 'lovage_queue_stats_up',
      help: "1 when the broker answered this scrape's queue counts, else 0 (the queue gauges keep their last values).",
      registers: [registry],
      async collect() {
        this.set((await poll()) ? 1 : 0);
      },
    });
  }

  private async pollQueues(): Promise<boolean> {
    const { broker, queues } = this.sources;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), QUEUE_STATS_TIMEOUT_MS);
    });
    try {
      const names = new Set([...(await Promise.race([queues.list(), timeout])), ...this.seenQueues]);
      const stats = await Promise.race([
        Promise.all([...names].map(async (q) => [q, await broker.queueStats(q)] as const)),
        timeout,
      ]);
      for (const [queue_name, s] of stats) {
        this.queueLength?.set({ queue_name }, s.ready);
        if (s.consumers !== null) this.queueConsumers?.set({ queue_name }, s.consumers);
        if (s.unacked !== null) this.queueUnacked?.set({ queue_name }, s.unacked);
      }
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private monitorFigures(registry: Registry): void {
    const stats = this.sources.stats;
    // The monitor keeps these as running totals; each scrape adds what is new since the last one.
    const total = (name: string, help: string, read: (s: MonitorStats) => number) => {
      let last = 0;
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          const now = read(stats());
          if (now > last) this.inc(now - last);
          last = now;
        },
      });
    };
    total(
      'lovage_monitor_events_malformed_total',
      'Event messages that could not be read.',
      (s) => s.malformed,
    );
    total(
      'lovage_monitor_events_dropped_total',
      'Events dropped in the monitor because too many were waiting to be folded.',
      (s) => s.dropped,
    );
    total(
      'lovage_monitor_subscriber_cuts_total',
      'Times the event subscription was cut (events sent meanwhile are lost, then repaired).',
      (s) => s.subscriberCuts,
    );
    new Gauge({
      name: 'lovage_monitor_events_pending',
      help: 'Event messages received and not folded yet.',
      registers: [registry],
      collect() {
        this.set(stats().pending);
      },
    });
  }
}
