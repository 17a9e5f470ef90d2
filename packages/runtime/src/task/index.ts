export * from './rate-limit';
export * from './retry';
export * from './states';
export * from './task';
