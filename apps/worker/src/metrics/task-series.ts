/**
 * The task figures the worker and the monitor both serve, under danihodovic/celery-exporter's names and labels
 * so its dashboards and alerts work as they are: `celery_task_<state>_total{name,hostname,queue_name}` (failed
 * also by `exception`, the exception's class), `celery_task_runtime{name,hostname,queue_name}` observed on
 * success, with Python prometheus_client's default buckets, which celery-exporter keeps. Lovage adds
 * `lovage_task_wait_seconds`: how long a task waited before it started.
 *
 * The hot path is one map lookup per label (name, queue, host: no string is built), a number added for the
 * counters (handed to prom-client when Prometheus scrapes) and prom-client's observe for the histograms,
 * through children made once per label set.
 */
import { TASK_TIMESTAMP_KINDS } from '@lovage/runtime';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Python prometheus_client's `Histogram.DEFAULT_BUCKETS`, which celery-exporter's `celery_task_runtime` uses. */
export const CELERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** A task event's state, as in celery-exporter's counter names (`celery_task_<state>_total`). */
export type TaskState = (typeof TASK_TIMESTAMP_KINDS)[number];

/** Every task event Celery sends, the index's timestamp kinds: one counter each. */
const STATES: readonly TaskState[] = TASK_TIMESTAMP_KINDS;

/** celery-exporter's help texts (Celery's event documentation), so `# HELP` reads the same. */
const HELP: Record<TaskState, string> = {
  sent: 'Sent when a task message is published.',
  received: 'Sent when the worker receives a task.',
  started: 'Sent just before the worker executes the task.',
  succeeded: 'Sent if the task executed successfully.',
  failed: 'Sent if the execution of the task failed.',
  retried: 'Sent if the task failed, but will be retried in the future.',
  revoked: 'Sent if the task has been revoked.',
  rejected: 'The task was rejected by the worker, possibly to be re-queued or moved to a dead letter queue.',
};

type Inc = { inc(value?: number): void };
type Observe = { observe(value: number): void };
type Labels = { name: string; hostname: string; queue_name: string };
type Counted = Exclude<TaskState, 'failed'>;

/** A count not handed to prom-client yet, and the child it goes to (made at the first scrape that has it). */
interface Pending {
  n: number;
  child: Inc | null;
}

/**
 * One label set. Counting adds to a plain number; each scrape hands what was added to prom-client (a counter's
 * `collect`), so a task costs no prom-client call for its counters. The histograms are observed at once
 * through children made here, once.
 */
export class Series {
  readonly counts: Record<Counted, Pending> = {
    sent: { n: 0, child: null },
    received: { n: 0, child: null },
    started: { n: 0, child: null },
    succeeded: { n: 0, child: null },
    retried: { n: 0, child: null },
    revoked: { n: 0, child: null },
    rejected: { n: 0, child: null },
  };
  /** Failures by the exception's class name. */
  readonly failures = new Map<string, Pending>();
  /**
   * As celery-exporter, the first event other than `sent` shows every other counter of the label set at 0
   * (so `rate()` and ratios work from the start); `sent` alone does not, since its hostname is the sender's
   * (a web server), not a worker's.
   */
  shown = false;

  constructor(
    readonly labels: Labels,
    readonly runtime: Observe,
    readonly wait: Observe,
  ) {}

  count(state: Counted): void {
    if (!this.shown && state !== 'sent') this.show();
    this.counts[state].n++;
  }

  /** A failure, by the exception's class name (`ValueError`). */
  failed(exceptionClass: string): void {
    if (!this.shown) this.show();
    let pending = this.failures.get(exceptionClass);
    if (!pending) this.failures.set(exceptionClass, (pending = { n: 0, child: null }));
    pending.n++;
  }

  private show(): void {
    this.shown = true;
    if (!this.failures.has('')) this.failures.set('', { n: 0, child: null });
  }
}

/** The task counters and histograms in one registry, with their label sets kept per host, queue and name. */
export class TaskSeries {
  private readonly all: Series[] = [];
  private readonly byHost = new Map<string, Map<string, Map<string, Series>>>();
  private readonly runtime: Histogram<keyof Labels>;
  private readonly wait: Histogram<keyof Labels>;

  constructor(registry: Registry, opts: { waitHelp: string }) {
    const labelNames = ['name', 'hostname', 'queue_name'] as const;
    const all = this.all;
    for (const state of STATES) {
      if (state === 'failed') continue;
      new Counter({
        name: `celery_task_${state}_total`,
        help: HELP[state],
        labelNames,
        registers: [registry],
        collect() {
          for (const series of all) {
            const pending = series.counts[state];
            if (pending.n === 0 && (state === 'sent' || !series.shown)) continue;
            pending.child ??= this.labels(series.labels);
            pending.child.inc(pending.n);
            pending.n = 0;
          }
        },
      });
    }
    new Counter({
      name: 'celery_task_failed_total',
      help: HELP.failed,
      labelNames: [...labelNames, 'exception'],
      registers: [registry],
      collect() {
        for (const series of all) {
          for (const [exception, pending] of series.failures) {
            pending.child ??= this.labels({ ...series.labels, exception });
            pending.child.inc(pending.n);
            pending.n = 0;
          }
        }
      },
    });
    this.runtime = new Histogram({
      name: 'celery_task_runtime',
      help: 'Histogram of task runtime measurements.',
      labelNames,
      buckets: CELERY_BUCKETS,
      registers: [registry],
    });
    this.wait = new Histogram({
      name: 'lovage_task_wait_seconds',
      help: opts.waitHelp,
      labelNames,
      buckets: CELERY_BUCKETS,
      registers: [registry],
    });
  }

  /** The label set's series: three map lookups once it has been seen, no string built. */
  of(name: string, hostname: string, queue: string): Series {
    let byQueue = this.byHost.get(hostname);
    if (!byQueue) this.byHost.set(hostname, (byQueue = new Map()));
    let byName = byQueue.get(queue);
    if (!byName) byQueue.set(queue, (byName = new Map()));
    let series = byName.get(name);
    if (!series) {
      const labels = { name, hostname, queue_name: queue };
      series = new Series(labels, this.runtime.labels(labels), this.wait.labels(labels));
      byName.set(name, series);
      this.all.push(series);
    }
    return series;
  }
}

const EXCEPTION_CLASS = /^(\w+)\(/;

/**
 * The class of an exception from its repr (`ValueError('boom')` → `ValueError`), celery-exporter's
 * `get_exception_class_name`, with its `UnknownException` for anything else.
 */
export function exceptionClass(repr: string): string {
  return EXCEPTION_CLASS.exec(repr)?.[1] ?? 'UnknownException';
}

/**
 * The host part of a node name (`lovage@web-1` → `web-1`), celery-exporter's `hostname` label (Celery's
 * `nodesplit`): a worker's name part is often a pid, which would make every restart a new series.
 */
export function nodeHost(nodename: string): string {
  const at = nodename.indexOf('@');
  return at < 0 ? nodename : nodename.slice(at + 1);
}
