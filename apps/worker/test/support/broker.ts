/**
 * The broker these tests run on (`TEST_BROKER`, `TEST_BROKER_URL`; see @lovage/runtime/testing), and the
 * environment that points a spawned `lovage` (and the fixture tasks modules) at it. Results and the state
 * store stay on the machine's Redis.
 */
import { createApp, type App } from '@lovage/runtime';
import { resolveTestBroker, TEST_REDIS_URL } from '@lovage/runtime/testing';

export const TEST_BROKER = resolveTestBroker(process.env);
export const BROKER = TEST_BROKER.url;
export const BACKEND = TEST_BROKER.backendUrl;
/** The state store's Redis: cleanup by key prefix and checks of Lovage's records (revoked ids, the index). */
export const STATE = TEST_BROKER.stateUrl;
/** The machine's Redis, for checks of the Redis wire itself. */
export const REDIS = TEST_REDIS_URL;

/** For a child process: its broker, result backend and state store. */
export const BROKER_ENV = {
  LOVAGE_BROKER_URL: BROKER,
  LOVAGE_RESULT_BACKEND: BACKEND,
  LOVAGE_STATE_URL: STATE,
} as const;

/** An app on this run's broker, results and state store, in a namespace of its own: key prefix and queue. */
export function namespacedApp(prefix: string, queue: string): App {
  return createApp({
    broker: BROKER,
    backend: BACKEND,
    state: STATE,
    defaultQueue: queue,
    brokerTransportOptions: { globalKeyprefix: prefix },
  });
}
