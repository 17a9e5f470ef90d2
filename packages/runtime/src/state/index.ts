export * from './state';
export { deadLetterDelivery } from './dead-letters';
