export * from './backend';
export * from './meta';
export { resultKey } from './redis/redis-backend';
