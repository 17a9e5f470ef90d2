/**
 * Running jobs in the prefork and threads pools: real child processes and worker threads loading the
 * fixture tasks module through tsx. One pool of two executors per kind serves every test in its block.
 */
import { describe, expect, it } from 'vitest';
import { key, KINDS, makeJob, resultOf, type Where } from './fixtures/helpers';
import { sharedPool } from './fixtures/shared-pool';

describe.each(KINDS)('%s pool: executing jobs', (kind) => {
  const shared = sharedPool(kind);
  const pool = () => shared.pool;

  it('runs a CPU-bound and an I/O-bound task and returns their results', async () => {
    const [cpu, io] = await Promise.all([
      pool().execute(makeJob('pool.fib', [25])),
      pool().execute(makeJob('pool.io', [100])),
    ]);
    expect(resultOf<{ value: number }>(cpu).value).toBe(75025);
    expect(resultOf<{ slept: number }>(io).slept).toBe(100);
    expect(io.runtime).toBeGreaterThanOrEqual(0.09);
    const wheres = [resultOf<Where>(cpu), resultOf<Where>(io)];
    for (const w of wheres) {
      if (kind === 'prefork') expect(w.pid).not.toBe(process.pid);
      else expect(w.threadId).toBeGreaterThan(0);
    }
  });

  it('runs jobs at the same time in different executors', async () => {
    const started = performance.now();
    const outcomes = await Promise.all([
      pool().execute(makeJob('pool.io', [600])),
      pool().execute(makeJob('pool.io', [600])),
    ]);
    const elapsed = performance.now() - started;
    const [a, b] = outcomes.map((o) => resultOf<Where>(o));
    expect(key(a!)).not.toBe(key(b!));
    expect(elapsed).toBeLessThan(1150); // one after the other would take 1200 ms
    const info = pool().info();
    expect(info['max-concurrency']).toBe(2);
    expect(info.processes).toHaveLength(2);
    if (kind === 'prefork') expect(info.processes.sort()).toEqual([a!.pid, b!.pid].sort());
    else expect(info.processes).toEqual([process.pid, process.pid]);
  });

  it('returns the error of a failing task, serialized with its traceback', async () => {
    const outcome = await pool().execute(makeJob('pool.fail'));
    expect(outcome.kind).toBe('failure');
    if (outcome.kind !== 'failure') return;
    expect(outcome.exc).toEqual({
      exc_type: 'TypeError',
      exc_message: ['bad input'],
      exc_module: 'builtins',
    });
    expect(outcome.traceback).toMatch(/TypeError: bad input\n\s+at .*fixtures\/tasks\.ts/);
  });

  it('turns a return value that is not JSON into EncodeError', async () => {
    const outcome = await pool().execute(makeJob('pool.unserializable'));
    expect(outcome.kind).toBe('failure');
    if (outcome.kind !== 'failure') return;
    expect(outcome.exc).toEqual({
      exc_type: 'EncodeError',
      exc_message: ['result.callback: function callback'],
      exc_module: 'kombu.exceptions',
    });
  });

  it('fires the task signal at the soft limit; the task can catch SoftTimeLimitExceeded', async () => {
    const [caught, uncaught] = await Promise.all([
      pool().execute(makeJob('pool.soft', [5000], { softTimeLimit: 0.3 })),
      pool().execute(makeJob('pool.io', [5000], { softTimeLimit: 0.3 })),
    ]);
    expect(resultOf<string>(caught)).toBe('caught SoftTimeLimitExceeded after AbortError');
    expect(caught.runtime).toBeGreaterThanOrEqual(0.29);
    expect(caught.runtime).toBeLessThan(2);
    expect(uncaught.kind).toBe('failure');
    if (uncaught.kind === 'failure') expect(uncaught.exc.exc_type).toBe('SoftTimeLimitExceeded');
  });
});
