/**
 * The broker a test run uses, chosen by the run's environment (callers pass `process.env`: the runtime never
 * reads it): `TEST_BROKER` = `redis` (the default) or `amqp`, or an explicit `TEST_BROKER_URL`. With `amqp`
 * and no URL, the run's global setup (`prepareTestBroker`) makes a RabbitMQ vhost of its own, publishes its URL
 * as `TEST_BROKER_URL` for the test processes and deletes it afterwards. Results and the state store stay on
 * Redis whatever the broker: the state store on DB 0 under each test's prefix, results on DB 1.
 *
 * Tests of the Redis adapter itself (`*.redis.test.ts`) use `TEST_REDIS_URL`, never the chosen broker.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { checkUrl, schemeOf } from '../app/urls';

/** The machine's Redis: the Redis broker's default, and the state store's home whatever the broker. */
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379/0';
/** The result backend every test run uses. */
export const TEST_BACKEND_URL = 'redis://127.0.0.1:6379/1';

export type TestBrokerKind = 'redis' | 'amqp';

export interface TestBroker {
  kind: TestBrokerKind;
  /** The broker URL broker-neutral tests pass to `createApp` (and to the processes they start). */
  url: string;
  backendUrl: string;
  /** The state store's URL: the `state` option (with a Redis broker it is the broker's URL, as by default). */
  stateUrl: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const KIND_OF_SCHEME: Record<string, TestBrokerKind> = {
  redis: 'redis',
  rediss: 'redis',
  amqp: 'amqp',
  amqps: 'amqp',
  pyamqp: 'amqp',
};

/** `TEST_BROKER`, checked (redis when unset), or the kind `TEST_BROKER_URL` names when only it is set. */
export function testBrokerKind(env: Env): TestBrokerKind {
  const named = env.TEST_BROKER?.trim().toLowerCase() || undefined;
  if (named !== undefined && named !== 'redis' && named !== 'amqp') {
    throw new Error(`TEST_BROKER must be redis or amqp, not ${JSON.stringify(env.TEST_BROKER)}`);
  }
  const url = env.TEST_BROKER_URL;
  if (!url) return named ?? 'redis';
  const ofUrl = KIND_OF_SCHEME[schemeOf(url)];
  if (!ofUrl) throw new Error(`TEST_BROKER_URL must be a redis(s):// or amqp(s):// URL`);
  if (named && named !== ofUrl) throw new Error(`TEST_BROKER=${named} but TEST_BROKER_URL names ${ofUrl}`);
  return ofUrl;
}

function brokerOf(kind: TestBrokerKind, url: string): TestBroker {
  // On Redis the state store shares the broker's URL (sharesBroker, the default); elsewhere it is named.
  return { kind, url, backendUrl: TEST_BACKEND_URL, stateUrl: kind === 'redis' ? url : TEST_REDIS_URL };
}

/** The broker of this test run, in a test process (after the global setup ran). */
export function resolveTestBroker(env: Env): TestBroker {
  const kind = testBrokerKind(env);
  if (env.TEST_BROKER_URL) return brokerOf(kind, env.TEST_BROKER_URL);
  if (kind === 'redis') return brokerOf(kind, TEST_REDIS_URL);
  throw new Error(
    'TEST_BROKER=amqp without TEST_BROKER_URL: run through the root vitest config (its global setup makes the vhost) or set TEST_BROKER_URL',
  );
}

const run = promisify(execFile);

async function rabbitmqctl(...args: string[]): Promise<void> {
  try {
    await run('rabbitmqctl', args, { timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/**
 * The global setup of a test run: resolves the broker, refuses at once (one line) a URL `createApp` would
 * refuse, and with `amqp` and no URL makes a vhost `lovage-test-<uuid>` on the machine's RabbitMQ (guest has
 * every permission on it). `teardown` deletes that vhost, and with it every queue and exchange the run made.
 */
export async function prepareTestBroker(
  env: Env,
  rabbit: { host?: string; user?: string; password?: string } = {},
): Promise<{ broker: TestBroker; teardown: () => Promise<void> }> {
  const kind = testBrokerKind(env);
  const probe = env.TEST_BROKER_URL || (kind === 'redis' ? TEST_REDIS_URL : 'amqp://127.0.0.1:5672/');
  const refused = checkUrl('broker', probe);
  if (refused) {
    throw new Error(
      `TEST_BROKER=${kind}: createApp refuses ${schemeOf(probe)}:// (${refused}); no test can run on it`,
    );
  }
  if (env.TEST_BROKER_URL || kind === 'redis') {
    return { broker: resolveTestBroker(env), teardown: async () => undefined };
  }
  const { host = '127.0.0.1:5672', user = 'guest', password = 'guest' } = rabbit;
  const vhost = `lovage-test-${randomUUID()}`;
  await rabbitmqctl('add_vhost', vhost);
  try {
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  } catch (e) {
    await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
    throw e;
  }
  const url = `amqp://${user}:${password}@${host}/${encodeURIComponent(vhost)}`;
  return { broker: brokerOf('amqp', url), teardown: () => rabbitmqctl('delete_vhost', vhost) };
}
