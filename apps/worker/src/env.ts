/**
 * The worker's environment: the only place in apps/worker/src that touches `process.env`.
 *
 * Read: `LOVAGE_LOG_FORMAT` (`pretty` or `json`; default: pretty when stdout is a terminal, JSON otherwise),
 * `LOVAGE_BROKER_URL` as the default broker of `inspect`, `control`, `monitor` and `purge`,
 * `LOVAGE_STATE_URL` as their state store (revoked ids, queues, dead letters, settings, the task index;
 * default: the broker's Redis, else the result backend's: see connect.ts), `LOVAGE_RESULT_BACKEND` as the monitor's default result backend,
 * and `LOVAGE_METRICS_PORT` as the `worker`'s and `monitor`'s `--metrics-port`.
 * Written: `LOVAGE_BROKER_URL` and `LOVAGE_RESULT_BACKEND`, set from `--broker` / `--result-backend` before
 * the tasks module is imported. The module is expected to read them when it creates its app (see
 * examples/tasks.ts); the CLI checks afterwards that the app really uses them.
 */
import { urlSchema } from '@lovage/runtime/urls';
import { z } from 'zod';
import { UsageError } from './errors';

const schema = z.object({
  LOVAGE_LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  /** Set by `lovage worker` for its pool's children and threads, so they log like the main process. */
  LOVAGE_LOG_LEVEL: z.enum(['debug', 'info', 'warning', 'error', 'critical']).optional(),
  LOVAGE_BROKER_URL: urlSchema('broker').optional(),
  /** Where `inspect`, `control`, `monitor` and `purge` find Lovage's records when they have no app module. */
  LOVAGE_STATE_URL: urlSchema('state').optional(),
  /** The monitor's result backend when it has no app module (it repairs the index from it). */
  LOVAGE_RESULT_BACKEND: urlSchema('backend').optional(),
  /** Serve Prometheus metrics on this port (`--metrics-port` wins); unset: none are served. */
  LOVAGE_METRICS_PORT: z.coerce
    .number({ message: 'expected a port 0-65535' })
    .int('expected a port 0-65535')
    .min(0, 'expected a port 0-65535')
    .max(65535, 'expected a port 0-65535')
    .optional(),
});

export type WorkerEnv = z.output<typeof schema>;

export class EnvError extends Error {}

export function readEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const res = schema.safeParse({
    LOVAGE_LOG_FORMAT: env.LOVAGE_LOG_FORMAT || undefined,
    LOVAGE_LOG_LEVEL: env.LOVAGE_LOG_LEVEL || undefined,
    LOVAGE_BROKER_URL: env.LOVAGE_BROKER_URL || undefined,
    LOVAGE_STATE_URL: env.LOVAGE_STATE_URL || undefined,
    LOVAGE_RESULT_BACKEND: env.LOVAGE_RESULT_BACKEND || undefined,
    LOVAGE_METRICS_PORT: env.LOVAGE_METRICS_PORT || undefined,
  });
  if (!res.success) {
    const issue = res.error.issues[0]!;
    throw new EnvError(`invalid environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  return res.data;
}

/** `readEnv` for a command: a bad variable is a usage error (one `lovage: error:` line, exit 2). */
export function readCommandEnv(): WorkerEnv {
  try {
    return readEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Hands the connection URLs given on the command line to the tasks module. */
export function exportConnectionUrls(urls: { broker?: string; resultBackend?: string }): void {
  if (urls.broker !== undefined) process.env.LOVAGE_BROKER_URL = urls.broker;
  if (urls.resultBackend !== undefined) process.env.LOVAGE_RESULT_BACKEND = urls.resultBackend;
}

/** Hands the worker's log level and format to its pool's children and threads (they inherit the env). */
export function exportLogSettings(level: string, format: 'pretty' | 'json'): void {
  process.env.LOVAGE_LOG_LEVEL = level;
  process.env.LOVAGE_LOG_FORMAT = format;
}
