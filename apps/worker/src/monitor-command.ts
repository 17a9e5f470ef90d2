/**
 * `lovage monitor`: receives every worker's events and folds them into the task-state index in Redis that
 * the console reads (runtime `Monitor` / `TaskIndex`). Several monitors may run at once; each event is
 * counted once. After events are lost (a burst Redis cut it off for), it repairs the index from the result
 * backend. Runs until SIGINT/SIGTERM, folding what it received before it exits 0; a second signal exits at
 * once.
 */
import { createResultBackend, Monitor, type CeleryEvent } from '@lovage/runtime';
import { connectApp, type ConnectOptions } from './connect';
import { readCommandEnv } from './env';
import { createLogger, type LogLevelName } from './logger';
import { MonitorMetrics } from './metrics/monitor-metrics';
import { startMetrics, type MetricsServer } from './metrics/serve';

export interface MonitorCommandOptions extends ConnectOptions {
  loglevel: LogLevelName;
  /** Most tasks kept in the index (1,000,000). */
  maxTasks?: number;
  /** Seconds a task is kept after its latest event (7 days). */
  maxAge?: number;
  /** Result backend the index is repaired from after lost events (the app's, else LOVAGE_RESULT_BACKEND). */
  resultBackend?: string;
  /** Serve the cluster's Prometheus metrics on this port (else `LOVAGE_METRICS_PORT`, else none). */
  metricsPort?: number;
  /** The metrics endpoint's interface (127.0.0.1). */
  metricsHost?: string;
}

/** How often the figures are logged while events flow. */
const REPORT_EVERY_MS = 60_000;
/** How long stopping may go without applying any event before the process exits anyway. */
const STOP_GRACE_MS = 10_000;

export async function runMonitor(opts: MonitorCommandOptions): Promise<void> {
  const env = readCommandEnv();
  const logger = createLogger(
    opts.loglevel,
    env.LOVAGE_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
  );
  const app = await connectApp(opts);
  try {
    await app.broker.ping(5000);
  } catch (err) {
    logger.fatal({ err }, 'monitor could not start');
    await app.close().catch(() => undefined);
    process.exit(1);
  }

  const backendUrl = opts.resultBackend ?? app.config.backend ?? env.LOVAGE_RESULT_BACKEND ?? null;
  // The app's own backend when that is the one named; else one built for the URL, closed with the monitor.
  const resultBackend =
    backendUrl === null
      ? null
      : backendUrl === app.config.backend
        ? app.backend
        : createResultBackend(backendUrl, { resultExpires: app.config.resultExpires });
  if (!resultBackend) {
    logger.warn(
      'no result backend (--result-backend or LOVAGE_RESULT_BACKEND): events lost in a burst cannot be repaired',
    );
  }
  let observe: ((events: readonly CeleryEvent[]) => void) | undefined;
  const monitor = new Monitor(app, {
    logger,
    maxTasks: opts.maxTasks,
    maxAgeSeconds: opts.maxAge,
    resultBackend,
    onApplied: (events) => observe?.(events),
  });
  let metrics: MetricsServer | null = null;
  try {
    metrics = await startMetrics(opts, env.LOVAGE_METRICS_PORT, logger, (registry) => {
      const figures = new MonitorMetrics(registry, {
        broker: app.broker,
        queues: app.state.queues,
        stats: () => monitor.stats,
      });
      observe = figures.observe;
    });
  } catch (err) {
    logger.fatal({ err }, 'monitor could not start: the metrics port could not be bound');
    await app.close().catch(() => undefined);
    process.exit(1);
  }
  await monitor.start();

  let reported = 0;
  let lost = 0;
  const reporter = setInterval(() => {
    const s = monitor.stats;
    if (s.processed === reported && s.malformed === 0) return;
    reported = s.processed;
    // Losses are warned about as they happen; the figures say so again while they are new.
    const lostNow = s.dropped + s.subscriberCuts;
    if (lostNow !== lost) logger.warn(s, 'monitor figures (events were lost)');
    else logger.info(s, 'monitor figures');
    lost = lostNow;
  }, REPORT_EVERY_MS);
  reporter.unref();

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'stopping at once');
        process.exit(1);
      }
      stopping = true;
      const { pending, pendingBytes } = monitor.stats;
      logger.info(
        { signal, pending, pendingBytes },
        'stopping the monitor: applying what it received (send the signal again to exit at once)',
      );
      clearInterval(reporter);
      // A burst's backlog may take a while to apply: give up only when applying makes no progress.
      let applied = monitor.stats.processed;
      const forced = setInterval(() => {
        const now = monitor.stats.processed;
        if (now !== applied) return void (applied = now);
        logger.warn('the monitor made no progress stopping; exiting anyway');
        process.exit(1);
      }, STOP_GRACE_MS);
      forced.unref();
      void (async () => {
        try {
          await monitor.stop();
        } catch (err) {
          logger.error({ err }, 'the monitor did not stop cleanly');
        }
        await metrics?.close();
        await app.close().catch(() => undefined);
        if (resultBackend !== app.backend) await resultBackend?.close().catch(() => undefined);
        clearInterval(forced);
        resolve();
      })();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.exit(0);
}
