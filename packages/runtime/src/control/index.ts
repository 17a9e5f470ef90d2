export * from './mailbox';
