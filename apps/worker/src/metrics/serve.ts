/**
 * The `/metrics` endpoint of `lovage worker --metrics-port` and `lovage monitor --metrics-port`: one
 * prom-client registry per process (never the library's global one, so two apps in one test process do not
 * share figures), Node's process figures (`process_*`, `nodejs_*`) in it, served over plain HTTP as
 * Prometheus' text format. Bound to 127.0.0.1 unless `--metrics-host` says otherwise.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@lovage/runtime';
import { collectDefaultMetrics, Registry } from 'prom-client';

export interface MetricsListen {
  /** TCP port; 0 takes a free one (logged). Flag `--metrics-port`, env `LOVAGE_METRICS_PORT`. */
  port: number;
  /** Interface to bind (`127.0.0.1`). Flag `--metrics-host`. */
  host: string;
}

export interface MetricsServer {
  /** The port bound (the one asked for, or the free one taken for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** A registry of the process's own, with Node's process figures. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The metrics endpoint a command asked for (`--metrics-port`, else `LOVAGE_METRICS_PORT`), its figures added
 * by `instrument` to a new registry; null when no port was given.
 */
export async function startMetrics(
  opts: { metricsPort?: number; metricsHost?: string },
  envPort: number | undefined,
  logger: Logger,
  instrument: (registry: Registry) => void,
): Promise<MetricsServer | null> {
  const port = opts.metricsPort ?? envPort;
  if (port === undefined) return null;
  const registry = createMetricsRegistry();
  instrument(registry);
  return serveMetrics(registry, { port, host: opts.metricsHost ?? '127.0.0.1' }, logger);
}

/** Serves `registry` on `GET /metrics`; resolves once listening, rejects when the port cannot be bound. */
export async function serveMetrics(
  registry: Registry,
  at: MetricsListen,
  logger: Logger,
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, 'could not collect the metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: at.host, port }, `metrics served at http://${at.host}:${port}/metrics`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
