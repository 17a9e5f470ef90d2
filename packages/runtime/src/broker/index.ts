export * from './broker';
export { RedisBroker, newConsumerId, type RedisBrokerOptions } from './redis/redis-broker';
export { RedisKeys } from './redis/keys';
