/**
 * Starting executors: a tasks module that cannot load (or whose workerProcessInit hook fails) makes start()
 * reject with the reason instead of respawning forever (respawn.test.ts covers failures once running).
 * Also createPool's choice of pool.
 */
import { createApp, AsyncPool, PoolError } from '@lovage/runtime';
import { describe, expect, it } from 'vitest';
import { createPool, PoolStartError, PreforkPool, ThreadsPool } from '../../src/pools';
import {
  fixture,
  HOSTNAME,
  KINDS,
  makeJob,
  memoryLogger,
  newPool,
  resultOf,
  TASKS,
} from './fixtures/helpers';

/** Whether a process is still alive (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.each(KINDS)('%s pool: starting', (kind) => {
  it('start() rejects naming the tasks module when it throws while loading, and leaves nothing running', async () => {
    const module = fixture('broken.ts');
    const pool = newPool(kind, { appModule: module, size: 2, hostname: HOSTNAME, logger: memoryLogger() });
    const starting = pool.start();
    const pids = pool.executorInfo().map((e) => e.pid);
    expect(pids).toHaveLength(2);
    const err = await starting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PoolStartError);
    // Inside the runtime's error tree, under its pool subtree, with a stable code.
    expect(err).toBeInstanceOf(PoolError);
    expect((err as PoolStartError).code).toBe('POOL_START_FAILED');
    expect((err as Error).message).toBe(
      `the ${kind} pool could not start a ${kind === 'prefork' ? 'child' : 'thread'}: ` +
        `cannot load the tasks module ${module}: pool fixture exploded while loading`,
    );
    expect(pool.executorInfo()).toEqual([]);
    expect(pool.info()).toMatchObject({ processes: [], spawned: 2, lost: 0 });
    if (kind === 'prefork') for (const pid of pids) expect(alive(pid)).toBe(false);
    await expect(pool.execute(makeJob('pool.whoami'))).rejects.toThrow(`the ${kind} pool is not running`);
  });

  it('start() rejects when a workerProcessInit hook fails', async () => {
    const pool = newPool(kind, {
      appModule: fixture('init-fails.ts'),
      size: 1,
      hostname: HOSTNAME,
      logger: memoryLogger(),
    });
    await expect(pool.start()).rejects.toThrow(
      /could not start a (child|thread): a workerProcessInit hook failed: cannot open the per-process connection$/,
    );
    expect(pool.executorInfo()).toEqual([]);
  });
});

describe('createPool', () => {
  it('builds the pool for --pool', async () => {
    const app = createApp({ broker: 'redis://127.0.0.1:6379/0' });
    app.task('inline.double', (_ctx, n: number) => n * 2);
    const options = { app, appModule: TASKS, size: 3, hostname: HOSTNAME, logger: memoryLogger() };
    expect(createPool('prefork', options)).toBeInstanceOf(PreforkPool);
    expect(createPool('threads', options)).toBeInstanceOf(ThreadsPool);
    const inline = createPool('async', options);
    expect(inline).toBeInstanceOf(AsyncPool);
    expect(inline.size).toBe(3);
    await inline.start();
    expect(resultOf<number>(await inline.execute(makeJob('inline.double', [21])))).toBe(42);
    await inline.stop();
    await app.close();
  });
});
