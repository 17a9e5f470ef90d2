/**
 * A worker's own figures for `lovage worker --metrics-port`: its tasks by name, queue and outcome, their
 * runtime and wait, what it holds and how wide its pool is. They are the main process's view whatever the
 * pool: it owns every message and learns every outcome (a prefork child only runs the task), so there is
 * one registry per worker and nothing to gather from children.
 *
 * Counting listens to the Worker's own events (no broker traffic, with or without `-E`); the gauges are read
 * from the worker when Prometheus scrapes, so holding and running tasks costs nothing between scrapes.
 */
import type { Worker } from '@lovage/runtime';
import { Counter, Gauge, type Registry } from 'prom-client';
import { exceptionClass, nodeHost, TaskSeries } from './task-series';

export function instrumentWorker(worker: Worker, registry: Registry): void {
  const hostname = nodeHost(worker.hostname);
  const labels = { hostname };
  const tasks = new TaskSeries(registry, {
    waitHelp:
      'Seconds a task waited in this worker between its receipt and its start (prefetched, ETA, rate limit).',
  });

  new Gauge({
    name: 'celery_worker_up',
    help: 'Indicates if a worker has recently sent a heartbeat.',
    labelNames: ['hostname'],
    registers: [registry],
  }).set(labels, 1);
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['hostname'],
      registers: [registry],
      collect() {
        this.set(labels, read());
      },
    });
  gauge(
    'celery_worker_tasks_active',
    'The number of tasks the worker is currently processing',
    () => worker.active.size,
  );
  gauge(
    'lovage_worker_prefetch_held',
    'Messages this worker holds and has not started: reserved (prefetched) plus ETA and rate-limited ones.',
    () => worker.ready.length + worker.scheduled.size,
  );
  gauge(
    'lovage_worker_prefetch_limit',
    'Messages this worker reserves ahead at most: concurrency times the prefetch multiplier.',
    () => worker.concurrency * worker.prefetchMultiplier,
  );
  gauge(
    'lovage_worker_pool_size',
    'Tasks this worker runs at once (its concurrency).',
    () => worker.concurrency,
  );
  const deadLetters = new Counter({
    name: 'lovage_dead_letters_total',
    help: 'Messages this worker moved to the dead letters (unreadable, unregistered, past the delivery limit).',
    labelNames: ['hostname', 'queue_name'],
    registers: [registry],
  });
  const lost = new Counter({
    name: 'lovage_deliveries_lost_total',
    help: 'Times the broker took back what this worker held (a lapsed lease, a closed channel).',
    labelNames: ['hostname'],
    registers: [registry],
  });

  worker.on('task-received', (request, h) =>
    tasks.of(request.name, hostname, h.delivery.queue).count('received'),
  );
  worker.on('task-started', (request, h) => {
    const series = tasks.of(request.name, hostname, h.delivery.queue);
    series.count('started');
    series.wait.observe(((h.startedAt ?? Date.now()) - h.receivedAt) / 1000);
  });
  worker.on('task-succeeded', (request, { runtime }, h) => {
    const series = tasks.of(request.name, hostname, h.delivery.queue);
    series.count('succeeded');
    series.runtime.observe(runtime);
  });
  worker.on('task-failed', (request, { exception }, h) =>
    tasks.of(request.name, hostname, h.delivery.queue).failed(exceptionClass(exception)),
  );
  worker.on('task-retried', (request, _, h) =>
    tasks.of(request.name, hostname, h.delivery.queue).count('retried'),
  );
  worker.on('task-revoked', (request, _, h) =>
    tasks.of(request.name, hostname, h.delivery.queue).count('revoked'),
  );
  worker.on('task-rejected', (request, h) =>
    tasks.of(request.name, hostname, h.delivery.queue).count('rejected'),
  );
  worker.on('message-dead-lettered', ({ queue }) => deadLetters.inc({ hostname, queue_name: queue }));
  worker.on('deliveries-lost', () => lost.inc(labels));
}
