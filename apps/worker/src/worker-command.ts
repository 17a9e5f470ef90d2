/**
 * `lovage worker`: loads the app, starts a Worker and handles signals as Celery does.
 *
 * First SIGINT/SIGTERM: warm shutdown (stop consuming, let running tasks finish, return the rest to the
 * queues). Second: cold shutdown (stop at once; whatever is not acknowledged goes back to the queues).
 * Then the app's connections are closed and the process exits 0.
 */
import path from 'node:path';
import type { App, Logger as RuntimeLogger, PoolKind, SettingKey, WorkerSettings } from '@lovage/runtime';
import { Beat, Worker, type SettingsStore } from '@lovage/runtime';
import type { Logger } from 'pino';
import { exportConnectionUrls, exportLogSettings, readCommandEnv } from './env';
import { UsageError } from './errors';
import { expandHostname } from './hostname';
import { loadApp } from './load-app';
import { createLogger, type LogLevelName } from './logger';
import { startMetrics, type MetricsServer } from './metrics/serve';
import { instrumentWorker } from './metrics/worker-metrics';
import { createPool } from './pools';

export interface WorkerCommandOptions {
  app: string;
  queues?: string[];
  pool: PoolKind;
  concurrency: number;
  prefetchMultiplier: number;
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
  timeLimit?: number;
  softTimeLimit?: number;
  taskEvents: boolean;
  /** `-B`: run beat in this process too (development; production runs `lovage beat`). */
  beat?: boolean;
  hostname: string;
  loglevel: LogLevelName;
  broker?: string;
  resultBackend?: string;
  /** Settings given as flags on the command line: they win over the stored settings. */
  pinned?: string[];
  /** Serve Prometheus metrics on this port (else `LOVAGE_METRICS_PORT`, else none). */
  metricsPort?: number;
  /** The metrics endpoint's interface (127.0.0.1). */
  metricsHost?: string;
}

/**
 * The settings a worker starts with: its command-line flags, then the console's stored version, then the
 * CLI's defaults (the CPU count, prefork, a prefetch multiplier of 4).
 */
export function resolveSettings(
  opts: WorkerCommandOptions,
  stored: WorkerSettings,
): { settings: WorkerSettings; pinned: SettingKey[] } {
  const pinned = (opts.pinned ?? []) as SettingKey[];
  const flags: WorkerSettings = {
    pool: opts.pool,
    concurrency: opts.concurrency,
    prefetchMultiplier: opts.prefetchMultiplier,
    maxTasksPerChild: opts.maxTasksPerChild,
    maxMemoryPerChild: opts.maxMemoryPerChild,
    timeLimit: opts.timeLimit,
    softTimeLimit: opts.softTimeLimit,
  };
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) settings[k] = v; // CLI defaults
  for (const [k, v] of Object.entries(stored)) if (v !== undefined) settings[k] = v;
  for (const k of pinned) settings[k] = flags[k];
  return { settings: settings as WorkerSettings, pinned };
}

/** How long a cold shutdown waits for Redis connections to close before exiting anyway. */
const CLOSE_GRACE_MS = 5000;

export async function runWorker(opts: WorkerCommandOptions): Promise<void> {
  const env = readCommandEnv();
  const format = env.LOVAGE_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const logger = createLogger(opts.loglevel, format);
  exportLogSettings(opts.loglevel, format);
  // Task code that forgets an `await` must not take the worker (and every running task) down.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (the worker keeps running)');
  });

  exportConnectionUrls({ broker: opts.broker, resultBackend: opts.resultBackend });
  const app = await loadApp(opts.app);
  checkConnectionFlags(app, opts);
  adoptLogger(app, logger);
  logger.info({ app: opts.app, tasks: [...app.tasks.keys()] }, 'tasks module loaded');

  const hostname = expandHostname(opts.hostname);
  // The app's state store (its `state` URL, else the broker's Redis) holds the settings versions.
  const store = app.state.settings;
  let stored;
  try {
    await app.broker.ping();
    stored = await store.current();
  } catch (err) {
    logger.fatal({ err }, 'worker could not start');
    await store.close();
    await closeApp(app, logger);
    process.exit(1);
  }
  const { settings, pinned } = resolveSettings(opts, stored?.settings ?? {});
  if (stored) logger.info({ version: stored.version, pinned }, 'stored settings loaded');

  const pool = createPool(settings.pool ?? 'prefork', {
    app,
    appModule: path.resolve(opts.app),
    size: settings.concurrency ?? opts.concurrency,
    hostname,
    logger,
    maxTasksPerChild: settings.maxTasksPerChild ?? null,
    maxMemoryPerChild: settings.maxMemoryPerChild ?? null,
  });
  const worker = new Worker(app, {
    logger,
    queues: opts.queues,
    pool,
    prefetchMultiplier: settings.prefetchMultiplier ?? opts.prefetchMultiplier,
    hostname,
    taskEvents: opts.taskEvents,
    settings,
    settingsSource: { store, version: stored?.version ?? 0, pinned },
  });
  // Built before the worker starts: a bad entry (a task name that is a typo) stops the process at once.
  const beat = opts.beat ? new Beat(app, { logger }) : null;
  let metrics: MetricsServer | null = null;
  try {
    metrics = await startMetrics(opts, env.LOVAGE_METRICS_PORT, logger, (r) => instrumentWorker(worker, r));
  } catch (err) {
    logger.fatal({ err }, 'worker could not start: the metrics port could not be bound');
    await store.close().catch(() => undefined);
    await closeApp(app, logger);
    process.exit(1);
  }
  const started = worker.start().then(() => beat?.start());
  const shutdown = handleSignals(worker, app, logger, started, store, beat, metrics);
  worker.on('shutdown-requested', () => shutdown('SIGTERM'));
  try {
    await started;
  } catch (err) {
    logger.fatal({ err }, 'worker could not start');
    await store.close().catch(() => undefined);
    await closeApp(app, logger);
    process.exit(1);
  }
}

/** `--broker` and `--result-backend` only work if the module built its app from the exported variables. */
export function checkConnectionFlags(
  app: App,
  opts: Pick<WorkerCommandOptions, 'app' | 'broker' | 'resultBackend'>,
): void {
  if (opts.broker !== undefined && app.config.broker !== opts.broker) {
    throw new UsageError(
      `--broker was given but the app in ${opts.app} does not use it (create the app with broker: process.env.LOVAGE_BROKER_URL)`,
    );
  }
  if (opts.resultBackend !== undefined && app.config.backend !== opts.resultBackend) {
    throw new UsageError(
      `--result-backend was given but the app in ${opts.app} does not use it (create the app with backend: process.env.LOVAGE_RESULT_BACKEND)`,
    );
  }
}

/**
 * The worker logs through its own `logger` option; the app's logger (what task code reaches as `app.logger`)
 * is swapped too so that everything the process prints has one format and level, as Celery's worker
 * takes over the root logger. `App.logger` is readonly in its type only.
 */
export function adoptLogger(app: App, logger: RuntimeLogger): void {
  (app as { logger: RuntimeLogger }).logger = logger;
}

function handleSignals(
  worker: Worker,
  app: App,
  logger: Logger,
  started: Promise<void>,
  store: SettingsStore,
  beat: Beat | null,
  metrics: MetricsServer | null,
): (signal: NodeJS.Signals) => void {
  let phase: 'running' | 'warm' | 'cold' = 'running';
  let exiting = false;
  const exit = async () => {
    if (exiting) return;
    exiting = true;
    await metrics?.close();
    await store.close().catch(() => undefined);
    await closeApp(app, logger);
    process.exit(0);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (phase === 'running') {
      phase = 'warm';
      logger.info(
        { signal },
        'warm shutdown: waiting for running tasks to finish (send the signal again for a cold shutdown)',
      );
      void (async () => {
        await started.catch(() => undefined);
        // Beat first, releasing its lease, so that no run is sent to a worker that is going away.
        await beat?.stop();
        await worker.stop();
        await exit();
      })().catch((err: unknown) => {
        logger.error({ err }, 'warm shutdown failed');
        void exit();
      });
    } else if (phase === 'warm') {
      phase = 'cold';
      logger.warn({ signal }, 'cold shutdown: abandoning running tasks');
      // Escalates the warm stop under way: running tasks are abandoned and everything not acknowledged
      // (acksLate tasks included) goes back to the front of its queue; the warm path then exits.
      void worker.stop({ cold: true }).catch((err: unknown) => {
        logger.error({ err }, 'cold shutdown failed');
        void exit();
      });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return onSignal;
}

async function closeApp(app: App, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CLOSE_GRACE_MS);
  });
  try {
    const outcome = await Promise.race([app.close().then(() => 'closed' as const), grace]);
    if (outcome === 'timeout') logger.warn('connections did not close in time; exiting anyway');
  } catch (err) {
    logger.error({ err }, 'could not close the connections cleanly');
  } finally {
    clearTimeout(timer);
  }
}
