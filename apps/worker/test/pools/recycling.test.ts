/**
 * Recycling executors (Celery's worker_max_tasks_per_child and worker_max_memory_per_child): after a job, an
 * executor over either limit is replaced gracefully (its shutdown hooks run); the job that went over still
 * completes normally.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PreforkPool, ThreadsPool } from '../../src/pools';
import {
  hookLogFile,
  HOSTNAME,
  key,
  KINDS,
  makeJob,
  memoryLogger,
  newPool,
  resultOf,
  TASKS,
  waitFor,
  type Where,
} from './fixtures/helpers';

/**
 * maxMemoryPerChild in MB: a fresh prefork child is about 105 MB resident and a fresh thread about 12 MB of
 * V8 heap here; the leak task adds 80 MB to both.
 */
const MEMORY_LIMIT_MB = { prefork: 160, threads: 50 };

describe.each(KINDS)('%s pool: recycling', (kind) => {
  let hooks = hookLogFile();
  const logger = memoryLogger();
  let pool: PreforkPool | ThreadsPool | undefined;

  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
    delete process.env.LOVAGE_POOL_TEST_HOOK_LOG;
    hooks.remove();
  });

  it('replaces an executor after maxTasksPerChild tasks', async () => {
    hooks = hookLogFile();
    process.env.LOVAGE_POOL_TEST_HOOK_LOG = hooks.file;
    pool = newPool(kind, { appModule: TASKS, size: 1, hostname: HOSTNAME, logger, maxTasksPerChild: 2 });
    await pool.start();
    expect(pool.info()['max-tasks-per-child']).toBe(2);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push(key(resultOf<Where>(await pool.execute(makeJob('pool.whoami')))));
    const [a, b] = [...new Set(seen)];
    expect(seen).toEqual([a, a, b, b]);
    expect(a).not.toBe(b);
    // Recycled gracefully, each after its second task: the old executors ran their shutdown hooks.
    await waitFor(
      'both recycled executors to stop',
      () => hooks.read().filter((e) => e.event === 'shutdown').length === 2,
    );
    expect(
      hooks
        .read()
        .filter((e) => e.event === 'shutdown')
        .map(key),
    ).toEqual([a, b]);
    expect(pool.info()).toMatchObject({ spawned: 3, lost: 0 }); // b's replacement is starting
  });

  it('replaces an executor whose memory went over maxMemoryPerChild after the task that grew it', async () => {
    const limit = MEMORY_LIMIT_MB[kind];
    pool = newPool(kind, { appModule: TASKS, size: 1, hostname: HOSTNAME, logger, maxMemoryPerChild: limit });
    await pool.start();
    expect(pool.info()['max-memory-per-child']).toBe(limit);

    const before = resultOf<Where & { rss: number; heap: number }>(
      await pool.execute(makeJob('pool.memory')),
    );
    const measured = kind === 'prefork' ? before.rss : before.heap;
    expect(measured).toBeLessThan(limit * 1024 * 1024); // else the limit above no longer fits this machine
    const same = resultOf<Where>(await pool.execute(makeJob('pool.whoami')));
    expect(key(same)).toBe(key(before));

    const leaked = await pool.execute(makeJob('pool.leak', [80]));
    expect(key(resultOf<Where>(leaked))).toBe(key(before)); // the task that went over completed normally
    const after = resultOf<Where>(await pool.execute(makeJob('pool.whoami')));
    expect(key(after)).not.toBe(key(before));
    expect(pool.info()).toMatchObject({ spawned: 2, lost: 0 });
    expect(logger.lines.some((l) => l.msg.startsWith('max-memory-per-child exceeded'))).toBe(true);
  });
});
