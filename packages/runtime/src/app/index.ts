export * from './app';
export * from './async-result';
export * from './config';
export * from './logger';
export * from './hooks';
