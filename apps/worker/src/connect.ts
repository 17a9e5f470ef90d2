/**
 * Where the commands that talk to running workers (`inspect`, `control`, `monitor`, `purge`) find the
 * broker: `-A module` (the app's broker, as Celery's `-A`), else `--broker URL`, else `LOVAGE_BROKER_URL`,
 * else Redis on localhost. The app built from a URL has no tasks: these commands only need the broker.
 */
import { createApp, defaultLogger, type App } from '@lovage/runtime';
import { readEnv } from './env';
import { UsageError } from './errors';
import { loadApp } from './load-app';

export interface ConnectOptions {
  app?: string;
  broker?: string;
  /** Key prefix of the broker (kombu's global_keyprefix) when no module is given. */
  keyPrefix?: string;
}

export const DEFAULT_BROKER = 'redis://127.0.0.1:6379/0';

export async function connectApp(opts: ConnectOptions): Promise<App> {
  if (opts.app && opts.broker) throw new UsageError('give either -A/--app or --broker, not both');
  if (opts.app) return loadApp(opts.app);
  let env;
  try {
    env = readEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const url = opts.broker ?? env.LOVAGE_BROKER_URL ?? DEFAULT_BROKER;
  return createApp({
    broker: url,
    state: env.LOVAGE_STATE_URL,
    brokerTransportOptions: { globalKeyprefix: opts.keyPrefix ?? '' },
    logger: defaultLogger('silent'),
  });
}
