export * from './backend';
export * from './meta';
export { RedisResultBackend, resultKey, type RedisBackendOptions } from './redis/redis-backend';
