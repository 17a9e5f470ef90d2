/**
 * The composition root's one table: which adapter each URL scheme builds. Only `createApp` uses it; the app,
 * the worker and the monitor receive their broker and backend already built and never name an adapter. The
 * tables are typed by the schemes `urls.ts` accepts, so a scheme added there without an adapter here does not
 * compile.
 */
import type { ResultBackend } from '../backend/backend';
import { RedisResultBackend } from '../backend/redis/redis-backend';
import type { Broker } from '../broker/broker';
import { AmqpBroker } from '../broker/amqp/amqp-broker';
import { RedisBroker } from '../broker/redis/redis-broker';
import type { StateStore } from '../state/state';
import { RedisStateStore } from '../state/redis/redis-state';
import type { AppAdapters } from './app';
import { stateUrlOf, type AppConfig } from './config';
import { schemeOf, type BackendScheme, type BrokerScheme, type StateScheme } from './urls';

type Factory<T> = (url: string, config: AppConfig) => T;

const redisBroker: Factory<Broker> = (url, config) => {
  const t = config.brokerTransportOptions;
  return new RedisBroker(url, {
    globalKeyprefix: t.globalKeyprefix,
    visibilityTimeout: t.visibilityTimeout,
    pollInterval: t.pollInterval,
    maxRetriesPerRequest: t.maxRetriesPerRequest,
  });
};

const redisBackend: Factory<ResultBackend> = (url, config) =>
  new RedisResultBackend(url, { resultExpires: config.resultExpires });

const redisState: Factory<StateStore> = (url, config) =>
  new RedisStateStore(url, {
    prefix: config.brokerTransportOptions.globalKeyprefix,
    maxRetriesPerRequest: config.brokerTransportOptions.maxRetriesPerRequest,
    // The default on a Redis broker: the records stay beside the queues, as they always were.
    sharesBroker: url === config.broker,
  });

// The AMQP adapter loads amqplib only when it first connects: a Redis app never loads it.
const amqpBroker: Factory<Broker> = (url, config) => {
  const t = config.brokerTransportOptions;
  return new AmqpBroker(url, {
    prefix: t.globalKeyprefix,
    queueType: t.queueType,
    maxPriority: t.maxPriority,
    heartbeat: t.heartbeat,
    publishTimeout: t.publishTimeout,
    consumerTimeout: t.consumerTimeout,
  });
};

const BROKERS: Record<BrokerScheme, Factory<Broker>> = {
  redis: redisBroker,
  rediss: redisBroker,
  amqp: amqpBroker,
  amqps: amqpBroker,
  pyamqp: amqpBroker,
};
const BACKENDS: Record<BackendScheme, Factory<ResultBackend>> = { redis: redisBackend, rediss: redisBackend };
const STATES: Record<StateScheme, Factory<StateStore>> = { redis: redisState, rediss: redisState };

/**
 * A result backend alone, for a URL the role accepts (a monitor repairing its index from a backend other than
 * its app's). Only the backend's own options of `config` are read.
 */
export function buildBackend(url: string, config: Pick<AppConfig, 'resultExpires'>): ResultBackend {
  return BACKENDS[schemeOf(url) as BackendScheme](url, config as AppConfig);
}

/** Builds the adapters a validated config names. */
export function buildAdapters(config: AppConfig): AppAdapters {
  const broker = BROKERS[schemeOf(config.broker) as BrokerScheme];
  const backend = config.backend ? BACKENDS[schemeOf(config.backend) as BackendScheme] : null;
  const stateUrl = stateUrlOf(config);
  const state = STATES[schemeOf(stateUrl) as StateScheme];
  return {
    broker: broker(config.broker, config),
    backend: backend && config.backend ? backend(config.backend, config) : null,
    state: state(stateUrl, config),
  };
}
