/**
 * The example Grafana dashboard (deploy/grafana/lovage-dashboard.json) queries only metrics that the worker's
 * and the monitor's endpoints register, so a renamed metric cannot leave a panel silently empty.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Broker, MonitorStats, QueueRegistry, Worker } from '@lovage/runtime';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MonitorMetrics } from '../src/metrics/monitor-metrics';
import { createMetricsRegistry } from '../src/metrics/serve';
import { instrumentWorker } from '../src/metrics/worker-metrics';

const here = path.dirname(fileURLToPath(import.meta.url));
const dashboard = path.resolve(here, '../../../deploy/grafana/lovage-dashboard.json');

/** Every metric name a panel's PromQL mentions (a histogram's `_bucket` series by its histogram's name). */
function queriedNames(): Set<string> {
  const text = readFileSync(dashboard, 'utf8');
  const exprs = [...text.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
  expect(exprs.length).toBeGreaterThan(10);
  const names = exprs.flatMap((e) =>
    [...e.matchAll(/\b((?:celery|lovage|process)_[a-z_]+)\b/g)].map((m) => m[1]!),
  );
  return new Set(names.map((n) => n.replace(/_bucket$/, '')));
}

function registered(): Set<string> {
  const worker = { hostname: 'w@host', on: () => worker } as unknown as Worker;
  const workerRegistry = createMetricsRegistry();
  instrumentWorker(worker, workerRegistry);
  const monitorRegistry = new Registry();
  new MonitorMetrics(monitorRegistry, {
    broker: {} as Broker,
    queues: {} as QueueRegistry,
    stats: () => ({}) as MonitorStats,
  });
  return new Set(
    [...workerRegistry.getMetricsAsArray(), ...monitorRegistry.getMetricsAsArray()].map((m) => m.name),
  );
}

describe('the example Grafana dashboard', () => {
  it('queries only metrics the endpoints serve', () => {
    const served = registered();
    const missing = [...queriedNames()].filter((n) => !served.has(n));
    expect(missing).toEqual([]);
  });
});
