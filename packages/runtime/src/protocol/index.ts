export * from './exceptions';
export * from './json';
export * from './message';
export * from './repr';
export * from './time';
