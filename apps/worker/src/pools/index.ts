/** The worker's pools: `--pool prefork|threads|async`. */
import { AsyncPool, type App, type Pool } from '@lovage/runtime';
import type { ExecutorPoolOptions } from './executor-pool';
import { PreforkPool } from './prefork-pool';
import { ThreadsPool } from './threads-pool';

export { PoolStartError, type ExecutorInfo, type ExecutorPoolOptions } from './executor-pool';
export { PreforkPool, type PreforkPoolOptions } from './prefork-pool';
export { ThreadsPool, type ThreadsPoolOptions } from './threads-pool';

export type PoolKind = 'prefork' | 'threads' | 'async';

export interface CreatePoolOptions extends ExecutorPoolOptions {
  /** The app loaded in the main process: the async pool runs its tasks and hooks directly. */
  app: App;
}

/**
 * The pool for `--pool`. prefork and threads load `appModule` again in every executor; async runs `app`'s
 * tasks on this event loop and has no per-child limits (maxTasksPerChild/maxMemoryPerChild are ignored).
 */
export function createPool(kind: PoolKind, opts: CreatePoolOptions): Pool {
  const { app, ...options } = opts;
  switch (kind) {
    case 'prefork':
      return new PreforkPool(options);
    case 'threads':
      return new ThreadsPool(options);
    case 'async':
      return new AsyncPool(app.tasks, {
        size: options.size,
        hooks: app.hooks,
        hostname: options.hostname,
        logger: options.logger,
      });
  }
}
