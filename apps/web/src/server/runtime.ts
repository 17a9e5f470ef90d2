import 'server-only';
/**
 * The queue runtime's values, loaded by Node at run time rather than bundled by Next. The runtime reads
 * its Lua scripts from files beside its sources (`new URL('./scripts/', import.meta.url)`), which a bundler
 * turns into asset references that do not exist; and since it is a workspace package (a symlink, not a
 * node_modules folder), `serverExternalPackages` does not apply to it. So the import below is hidden from
 * the bundlers and Node loads the TypeScript sources through tsx (`--import tsx` in the scripts).
 * Types are imported as usual (`import type … from '@lovage/runtime'`): they cost nothing at run time.
 * The browser-safe settings schema is imported normally from '@lovage/runtime/settings'.
 */
type Runtime = typeof import('@lovage/runtime');

const runtime: Runtime = await import(
  /* webpackIgnore: true */ /* turbopackIgnore: true */ '@lovage/runtime'
);

export const {
  createApp,
  SettingsStore,
  TaskIndex,
  maskUrl,
  LovageError,
  StateError,
  TASK_TIMESTAMP_KINDS,
  pauseQueue,
  resumeQueue,
} = runtime;
export type TaskIndex = import('@lovage/runtime').TaskIndex;
export type SettingsStore = import('@lovage/runtime').SettingsStore;
export type LovageError = import('@lovage/runtime').LovageError;
