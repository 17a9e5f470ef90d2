/**
 * Where the commands that talk to running workers (`inspect`, `control`, `monitor`, `purge`) find the
 * broker: `-A module` (the app's broker, as Celery's `-A`), else `--broker URL`, else `LOVAGE_BROKER_URL`,
 * else Redis on localhost. The app built from a URL has no tasks: these commands only need the broker.
 *
 * And Lovage's records (revoked ids, queues, dead letters, the task index), which RabbitMQ cannot hold:
 * `--state URL`, else `LOVAGE_STATE_URL`, else the broker's Redis, else the result backend's Redis
 * (`--result-backend` of `monitor`, else `LOVAGE_RESULT_BACKEND`), as the app's `state` option defaults.
 */
import { createApp, defaultLogger, maskUrl, type App } from '@lovage/runtime';
import { checkUrl } from '@lovage/runtime/urls';
import { readEnv } from './env';
import { UsageError } from './errors';
import { loadApp } from './load-app';

export interface ConnectOptions {
  app?: string;
  broker?: string;
  /** Key prefix of the broker (kombu's global_keyprefix) when no module is given. */
  keyPrefix?: string;
  /** The state store's URL when no module is given (default: LOVAGE_STATE_URL, see `stateUrlFor`). */
  state?: string;
  /** A result backend named on the command line (`monitor`): the state store's last default. */
  resultBackend?: string;
}

export const DEFAULT_BROKER = 'redis://127.0.0.1:6379/0';

/**
 * The state store for a broker given by URL, or a usage error saying what to set: a RabbitMQ broker
 * cannot hold Lovage's records, and guessing a Redis would write them where nobody else looks.
 */
export function stateUrlFor(
  broker: string,
  given: { state?: string; resultBackend?: string },
): string | undefined {
  if (given.state) return given.state;
  if (checkUrl('state', broker) === null) return undefined; // the app's default: the broker's Redis
  if (given.resultBackend && checkUrl('state', given.resultBackend) === null) return given.resultBackend;
  throw new UsageError(
    `the broker ${maskUrl(broker)} cannot hold Lovage's records (revoked ids, queues, dead letters, the task index): ` +
      'give their Redis with --state redis://… or LOVAGE_STATE_URL (or LOVAGE_RESULT_BACKEND, whose Redis is then used)',
  );
}

export async function connectApp(opts: ConnectOptions): Promise<App> {
  if (opts.app && opts.broker) throw new UsageError('give either -A/--app or --broker, not both');
  if (opts.app && opts.state) throw new UsageError('give either -A/--app or --state, not both');
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
    state: stateUrlFor(url, {
      state: opts.state ?? env.LOVAGE_STATE_URL,
      resultBackend: opts.resultBackend ?? env.LOVAGE_RESULT_BACKEND,
    }),
    brokerTransportOptions: { globalKeyprefix: opts.keyPrefix ?? '' },
    logger: defaultLogger('silent'),
  });
}
