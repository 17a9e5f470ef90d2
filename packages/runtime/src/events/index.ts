export * from './types';
export * from './codec';
export * from './publisher';
export * from './receiver';
