export * from './signature';
export * from './primitives';
export type { CanvasApp } from './apply';
export { signatureOptionsSchema, type SignatureOptions } from './options';
