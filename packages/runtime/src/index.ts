/** @lovage/runtime: a Celery-compatible task queue for TypeScript. */
export * from './app';
export * from './backend';
export * from './broker';
export * from './control';
export * from './errors';
export * from './pool';
export * from './protocol';
export * from './task';
export * from './worker';
export * from './settings';
export * from './events';
export * from './monitor';
export * from './state';
export * from './beat';
export * from './canvas';
