export * from './state';
export { deadLetterDelivery } from './dead-letters';
export { RedisStateStore, type RedisStateOptions } from './redis/redis-state';
