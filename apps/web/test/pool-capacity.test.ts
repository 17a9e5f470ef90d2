/**
 * The checks the Workers page and the Settings form make before a pool size is sent: whether it fits the
 * host a worker reports (CPUs, free memory, each prefork child's memory), whether the change is large
 * enough to confirm, and the messages the shared schemas give for what an operator can type.
 */
import { workerSettingsSchema } from '@lovage/runtime/settings';
import { describe, expect, it } from 'vitest';
import { capacityWarnings, describeHost, isLargeChange } from '../src/features/workers/capacity';
import { resizePoolInput } from '../src/server/routers/workers/resize-pool.schema';
import { setTaskLimitInput } from '../src/server/routers/workers/set-task-limit.schema';

const MB = 1024 ** 2;
const host = { cpus: 2, memoryTotal: 8192 * MB, memoryFree: 1024 * MB, rss: 90 * MB, childRss: 79 * MB };
const prefork = (processes: number) => ({
  hostname: 'w1@h',
  host,
  pool: { kind: 'lovage.pool:prefork', maxConcurrency: processes, processes },
});

describe('pool capacity', () => {
  it('a few processes per CPU within free memory: no warning', () => {
    expect(capacityWarnings(prefork(2), 8)).toEqual([]);
  });

  it('64 prefork children on 2 CPUs: too many per CPU and more memory than is free', () => {
    expect(capacityWarnings(prefork(2), 64)).toEqual([
      'w1@h: 64 processes on 2 CPUs is more than 4 per CPU; CPU-bound tasks will only wait for each other.',
      'w1@h: 64 processes of about 79 MB each need 4.8 GB more memory; 1.0 GB is free.',
    ]);
  });

  it('threads are weighed against the CPUs only; the async pool is not weighed', () => {
    const threads = { ...prefork(2), pool: { kind: 'lovage.pool:threads', maxConcurrency: 2, processes: 2 } };
    expect(capacityWarnings(threads, 64)).toHaveLength(1);
    expect(capacityWarnings(threads, 64)[0]).toMatch(/64 threads on 2 CPUs/);
    const async = {
      hostname: 'w1@h',
      host: { ...host, childRss: null },
      pool: { kind: 'lovage.pool:async', maxConcurrency: 2, processes: 1 },
    };
    expect(capacityWarnings(async, 500)).toEqual([]);
    // The Settings form asks about the pool it is about to set; no child was measured, so CPUs only.
    expect(capacityWarnings(async, 64, 'prefork')).toEqual([
      'w1@h: 64 processes on 2 CPUs is more than 4 per CPU; CPU-bound tasks will only wait for each other.',
    ]);
  });

  it('a worker that reports no host (a Celery worker) gets no guess', () => {
    expect(capacityWarnings({ ...prefork(2), host: null }, 1000)).toEqual([]);
    expect(describeHost(null)).toBe('CPUs and memory not reported');
    expect(describeHost(host)).toBe('2 CPUs, 1.0 GB free of 8.0 GB, about 79 MB per process');
  });

  it('a large change is more than double, less than half or 8 or more', () => {
    expect([isLargeChange(4, 6), isLargeChange(4, 9), isLargeChange(20, 28), isLargeChange(4, 1)]).toEqual([
      false,
      true,
      true,
      true,
    ]);
  });
});

describe('what an operator types gets a message in words', () => {
  const message = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
    r.error?.issues[0]?.message;

  it.for([
    [0, 'must be at least 1'],
    [-1, 'must be at least 1'],
    [1.5, 'must be a whole number'],
    [undefined, 'enter a whole number of processes'],
    [Number.NaN, 'enter a whole number of processes'],
    [101, 'must be at most 100 at a time'],
  ] as const)('the pool box refuses %s: %s', ([n, expected]) => {
    expect(message(resizePoolInput.shape.n.safeParse(n))).toBe(expected);
  });

  it('settings that are not numbers name what they must be, not zod types', () => {
    const r = workerSettingsSchema.safeParse({
      concurrency: Number.NaN,
      maxRetries: Number.NaN,
      defaultRetryDelay: Number.NaN,
      timeLimit: Number.NaN,
    });
    expect(Object.fromEntries(r.error!.issues.map((i) => [i.path.join('.'), i.message]))).toEqual({
      concurrency: 'must be a whole number',
      maxRetries: 'must be a whole number',
      defaultRetryDelay: 'must be a number of seconds',
      timeLimit: 'must be a number of seconds',
    });
  });

  it('a live limit form with text in a number field or no task name', () => {
    const r = setTaskLimitInput.safeParse({ kind: 'time', taskName: ' ', hard: Number.NaN, soft: null });
    expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['taskName', 'enter a task name'],
      ['hard', 'must be a number of seconds'],
    ]);
  });
});
