/**
 * Executors that go away in the middle of a job: killed at the hard time limit, terminated by a revoke, or
 * dying on their own. One pool of two executors per kind serves every test in its block, so each test also
 * checks that the pool was made whole again after what the previous one did to it.
 */
import { WorkerLostError } from '@lovage/runtime';
import { describe, expect, it } from 'vitest';
import { key, KINDS, makeJob, resultOf, waitFor, type Where } from './fixtures/helpers';
import { sharedPool } from './fixtures/shared-pool';

describe.each(KINDS)('%s pool: losing executors', (kind) => {
  const shared = sharedPool(kind, { terminateGraceMs: 500 });
  const pool = () => shared.pool;
  const { logger, hooks, executors, startedIn } = shared;

  it('kills only the executor of a task over its hard time limit and replaces it', async () => {
    const before = await executors();
    const { lost, spawned } = pool().info();
    const spin = makeJob('pool.spin', [], { timeLimit: 0.5 });
    const [timedOut, normal] = await Promise.all([
      pool().execute(spin),
      pool().execute(makeJob('pool.io', [1000])),
    ]);
    expect(timedOut).toMatchObject({
      kind: 'failure',
      exc: { exc_type: 'TimeLimitExceeded', exc_message: [0.5], exc_module: 'billiard.exceptions' },
      traceback: null,
    });
    expect(timedOut.runtime).toBeGreaterThanOrEqual(0.49);
    expect(timedOut.runtime).toBeLessThan(1);
    const survivor = key(resultOf<Where>(normal));
    expect(before).toContain(survivor);
    expect(normal.runtime).toBeGreaterThanOrEqual(0.99);
    expect(pool().info()).toMatchObject({ lost: lost + 1, spawned: spawned + 1 });
    expect(
      logger.lines.some((l) => l.level === 'error' && l.msg.startsWith('Hard time limit (0.5s) exceeded')),
    ).toBe(true);

    // Still two executors: the survivor and a new one in place of the killed.
    const after = await executors();
    expect(after).toContain(survivor);
    expect(after.filter((k) => !before.includes(k))).toHaveLength(1);
  });

  it('terminate() stops the executor running the task (shutdown hooks run) and the job ends REVOKED', async () => {
    await executors();
    const { lost, spawned } = pool().info();
    const job = makeJob('pool.io', [10_000]);
    const outcome = pool().execute(job);
    const where = await startedIn(job.request.id);
    expect(pool().terminate(job.request.id)).toBe(true);
    const revoked = await outcome;
    expect(revoked).toMatchObject({
      kind: 'failure',
      exc: { exc_type: 'TaskRevokedError', exc_message: ['terminated'], exc_module: 'celery.exceptions' },
    });
    expect(revoked.runtime).toBeLessThan(5);
    expect(pool().terminate(job.request.id)).toBe(false);
    expect(pool().terminate('not-a-task-here')).toBe(false);
    // SIGTERM (prefork) or a shutdown message (threads) let the executor run its shutdown hooks.
    await waitFor('the shutdown hook of the terminated executor', () =>
      hooks.read().some((e) => e.event === 'shutdown' && key(e) === key(where)),
    );
    const after = await executors();
    expect(after).not.toContain(key(where));
    expect(pool().info()).toMatchObject({ lost, spawned: spawned + 1 });
  });

  it('rejects with WorkerLostError when the executor dies mid-task, and replaces it', async () => {
    const { lost } = pool().info();
    const job = makeJob('pool.exit', [3]);
    const err = await pool()
      .execute(job)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WorkerLostError);
    expect((err as Error).message).toBe(`Worker exited prematurely: exitcode 3 Job: ${job.request.id}.`);
    expect(pool().info().lost).toBe(lost + 1);
    expect(new Set(await executors())).toHaveProperty('size', 2);
  });

  it.runIf(kind === 'prefork')(
    'rejects with WorkerLostError when a child is SIGKILLed mid-task',
    async () => {
      await executors();
      const job = makeJob('pool.io', [10_000]);
      const outcome = pool().execute(job);
      const where = await startedIn(job.request.id);
      process.kill(where.pid, 'SIGKILL');
      const err = await outcome.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkerLostError);
      expect((err as Error).message).toBe(
        `Worker exited prematurely: signal 9 (SIGKILL) Job: ${job.request.id}.`,
      );
      expect(logger.lines.some((l) => l.msg === 'a pool child exited unexpectedly; replacing it')).toBe(true);
      const after = await executors();
      expect(after).toHaveLength(2);
      expect(after).not.toContain(key(where));
      expect(pool().info().processes).not.toContain(where.pid);
    },
  );
});
