export * from './mailbox';
export * from './control';
