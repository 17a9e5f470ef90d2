export * from './exceptions';
export * from './exchanges';
export * from './json';
export * from './message';
export * from './repr';
export * from './time';
