export * from './async-pool';
export * from './execute';
export * from './pool';
