export * from './task-index';
export * from './monitor';
export { MAX_REPR, MAX_TRACEBACK } from './rows';
