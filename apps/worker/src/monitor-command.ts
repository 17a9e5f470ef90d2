/**
 * `lovage monitor`: receives every worker's events and folds them into the task-state index in Redis that
 * the console reads (runtime `Monitor` / `TaskIndex`). Several monitors may run at once; each event is
 * counted once. Runs until SIGINT/SIGTERM; a second signal exits at once.
 */
import { Monitor } from '@lovage/runtime';
import { connectApp, type ConnectOptions } from './connect';
import { readEnv } from './env';
import { UsageError } from './errors';
import { createLogger, type LogLevelName } from './logger';

export interface MonitorCommandOptions extends ConnectOptions {
  loglevel: LogLevelName;
  /** Most tasks kept in the index (1,000,000). */
  maxTasks?: number;
  /** Seconds a task is kept after its latest event (7 days). */
  maxAge?: number;
}

/** How often the figures are logged while events flow. */
const REPORT_EVERY_MS = 60_000;
/** How long stopping may take before the process exits anyway. */
const STOP_GRACE_MS = 10_000;

export async function runMonitor(opts: MonitorCommandOptions): Promise<void> {
  const env = (() => {
    try {
      return readEnv();
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
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

  const monitor = new Monitor(app, { logger, maxTasks: opts.maxTasks, maxAgeSeconds: opts.maxAge });
  await monitor.start();

  let reported = 0;
  const reporter = setInterval(() => {
    const s = monitor.stats;
    if (s.processed === reported && s.malformed === 0) return;
    reported = s.processed;
    logger.info(s, 'monitor figures');
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
      logger.info({ signal }, 'stopping the monitor (send the signal again to exit at once)');
      clearInterval(reporter);
      const forced = setTimeout(() => {
        logger.warn('the monitor did not stop in time; exiting anyway');
        process.exit(1);
      }, STOP_GRACE_MS);
      forced.unref();
      void (async () => {
        try {
          await monitor.stop();
        } catch (err) {
          logger.error({ err }, 'the monitor did not stop cleanly');
        }
        await app.close().catch(() => undefined);
        clearTimeout(forced);
        resolve();
      })();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.exit(0);
}
