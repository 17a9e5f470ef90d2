export * from './beat';
export * from './schedule';
