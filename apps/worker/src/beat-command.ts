/**
 * `lovage beat`: loads the app and sends its `beatSchedule` and the entries defined in the console (see
 * @lovage/runtime's Beat). Run two or three
 * for availability: one holds the leader lease and sends, the others stand by. SIGINT/SIGTERM stop it and
 * release the lease, so a standby takes over at its next tick instead of after the lease runs out.
 */
import { Beat, type App } from '@lovage/runtime';
import type { Logger } from 'pino';
import { exportConnectionUrls, readCommandEnv } from './env';
import { loadApp } from './load-app';
import { createLogger, type LogLevelName } from './logger';
import { adoptLogger, checkConnectionFlags } from './worker-command';

export interface BeatCommandOptions {
  app: string;
  leaseTtl: number;
  loglevel: LogLevelName;
  broker?: string;
}

export async function runBeat(opts: BeatCommandOptions): Promise<void> {
  const env = readCommandEnv();
  const logger = createLogger(
    opts.loglevel,
    env.LOVAGE_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
  );
  exportConnectionUrls({ broker: opts.broker });
  const app = await loadApp(opts.app);
  checkConnectionFlags(app, opts);
  adoptLogger(app, logger);
  // Entries defined in the console are in the state store: an app without its own still has work to do.
  if (Object.keys(app.config.beatSchedule).length === 0) {
    logger.info('the app has no beatSchedule entries: running those defined in the console');
  }
  const beat = new Beat(app, { logger, leaseTtl: opts.leaseTtl });
  const stop = stopOnSignals(beat, app, logger);
  try {
    await beat.start();
  } catch (err) {
    logger.fatal({ err }, 'beat could not start');
    await stop();
    process.exit(1);
  }
}

/** Stops `beat` (releasing its lease) on the first SIGINT/SIGTERM, closes the app, exits 0. */
export function stopOnSignals(beat: Beat, app: App, logger: Logger): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await beat.stop().catch((err: unknown) => logger.error({ err }, 'beat did not stop cleanly'));
      await app.close().catch((err: unknown) => logger.error({ err }, 'could not close the connections'));
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'beat stopping');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return stop;
}
