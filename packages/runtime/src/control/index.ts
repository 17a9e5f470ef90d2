export * from './mailbox';
export * from './control';
export * from './queue-pause';
