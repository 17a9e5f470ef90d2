export * from './state';
export { deadLetterDelivery, republishable } from './dead-letters';
export { RedisStateStore, type RedisStateOptions } from './redis/redis-state';
