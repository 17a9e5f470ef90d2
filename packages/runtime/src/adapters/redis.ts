/**
 * `@lovage/runtime/redis`: the Redis adapters, for code that builds them itself (tests handing an app its
 * own, tools reading kombu's keys). Apps name a URL instead; the composition root (app/transports.ts) builds
 * the adapter its scheme asks for.
 */
export { RedisBroker, type RedisBrokerOptions } from '../broker/redis/redis-broker';
export { RedisKeys } from '../broker/redis/keys';
export { RedisResultBackend, type RedisBackendOptions } from '../backend/redis/redis-backend';
export { RedisStateStore, type RedisStateOptions } from '../state/redis/redis-state';
