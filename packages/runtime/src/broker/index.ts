export * from './broker';
export { RedisBroker, type RedisBrokerOptions } from './redis/redis-broker';
export { RedisKeys } from './redis/keys';
