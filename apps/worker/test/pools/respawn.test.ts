/**
 * Once the pool runs, an executor that cannot load the tasks module any more (a deploy broke it) is retried
 * with a backoff instead of failing the worker, and jobs wait for it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  hookLogFile,
  HOSTNAME,
  KINDS,
  makeJob,
  memoryLogger,
  newPool,
  resultOf,
  TASKS,
  waitFor,
  type Where,
} from './fixtures/helpers';

describe.each(KINDS)('%s pool: respawning', (kind) => {
  it('retries an executor that cannot load the module any more, with a backoff, until it can', async () => {
    const marker = hookLogFile(); // a scratch directory; the file itself is the marker
    process.env.LOVAGE_POOL_TEST_FAIL_LOAD = marker.file;
    const logger = memoryLogger();
    const pool = newPool(kind, { appModule: TASKS, size: 1, hostname: HOSTNAME, logger });
    try {
      await pool.start();
      const first = resultOf<Where>(await pool.execute(makeJob('pool.whoami')));
      writeFileSync(marker.file, 'fail');
      await expect(pool.execute(makeJob('pool.exit', [1]))).rejects.toThrow('Worker exited prematurely');
      // The job queued meanwhile waits for an executor instead of failing.
      const queued = pool.execute(makeJob('pool.whoami'));
      const retry = await waitFor('a failed start to be logged', () =>
        logger.lines.find(
          (l) => l.msg === `a pool ${kind === 'prefork' ? 'child' : 'thread'} could not start; retrying`,
        ),
      );
      expect(retry.fields.retryInMs).toBe(1000);
      expect((retry.fields.err as Error).message).toContain('pool fixture told to fail while loading');
      rmSync(marker.file);
      const second = resultOf<Where>(await queued);
      expect(second).not.toEqual(first);
      expect(pool.info()).toMatchObject({ lost: 1 });
      expect(pool.info().spawned).toBeGreaterThanOrEqual(3);
    } finally {
      delete process.env.LOVAGE_POOL_TEST_FAIL_LOAD;
      await pool.stop();
      marker.remove();
    }
  });
});
