export * from './app';
export * from './async-result';
export * from './config';
export * from '../logging';
export * from '../hooks';
export * from './create-app';
