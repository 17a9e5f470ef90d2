/**
 * Executor lifecycle: the workerProcessInit/workerProcessShutdown hooks run in every executor (each opens
 * its own "connection"), and resize() grows and shrinks the set, idle executors first, busy ones after
 * their job.
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
  settled,
  TASKS,
  waitFor,
  type Where,
} from './fixtures/helpers';

describe.each(KINDS)('%s pool: lifecycle', (kind) => {
  let hooks = hookLogFile();
  let pool: PreforkPool | ThreadsPool | undefined;

  const start = async (size: number) => {
    hooks = hookLogFile();
    process.env.LOVAGE_POOL_TEST_HOOK_LOG = hooks.file;
    pool = newPool(kind, { appModule: TASKS, size, hostname: HOSTNAME, logger: memoryLogger() });
    await pool.start();
    return pool;
  };
  const events = (event: string) => hooks.read().filter((e) => e.event === event);

  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
    delete process.env.LOVAGE_POOL_TEST_HOOK_LOG;
    hooks.remove();
  });

  it('runs workerProcessInit in each executor before its tasks and workerProcessShutdown when it stops', async () => {
    const p = await start(2);
    const inits = events('init');
    expect(inits).toHaveLength(2);
    expect(new Set(inits.map(key)).size).toBe(2);
    expect(inits.every((e) => e.pool === kind)).toBe(true);
    if (kind === 'prefork') expect(inits.map((e) => e.pid).sort()).toEqual(p.info().processes.sort());

    // Each executor sees the connection its own init hook opened.
    const outcomes = await Promise.all([
      p.execute(makeJob('pool.io', [200])).then(() => p.execute(makeJob('pool.whoami'))),
      p.execute(makeJob('pool.io', [200])).then(() => p.execute(makeJob('pool.whoami'))),
    ]);
    for (const o of outcomes) {
      const r = resultOf<Where & { connection: { openedBy: Where; pool: string } | null }>(o);
      expect(r.connection).toEqual({ openedBy: { pid: r.pid, threadId: r.threadId }, pool: kind });
    }

    expect(events('shutdown')).toEqual([]);
    await p.stop();
    const shutdowns = events('shutdown');
    expect(shutdowns.map(key).sort()).toEqual(inits.map(key).sort());
    expect(p.info().processes).toEqual([]);
  });

  it('resize() grows to more executors and shrinks idle ones first, busy ones after their job', async () => {
    const p = await start(1);
    expect(p.info()['max-concurrency']).toBe(1);
    expect(p.info().processes).toHaveLength(1);

    await p.resize(3);
    expect(p.info()['max-concurrency']).toBe(3);
    expect(p.info().processes).toHaveLength(3);
    expect(p.info().spawned).toBe(3);
    await settled(p);
    const three = await Promise.all([1, 2, 3].map(() => p.execute(makeJob('pool.io', [300]))));
    expect(new Set(three.map((o) => key(resultOf<Where>(o)))).size).toBe(3);

    // Two executors busy, one idle: shrinking to one stops the idle one now and one busy one after its job.
    const jobs = [makeJob('pool.io', [1500]), makeJob('pool.io', [1500])];
    const running = jobs.map((j) => p.execute(j));
    const busy = await Promise.all(
      jobs.map((j) =>
        waitFor(`${j.request.id} to start`, () =>
          hooks.read().find((e) => e.event === `prerun ${j.request.id}`),
        ),
      ),
    );
    const idle = events('init').find((e) => !busy.some((b) => key(b) === key(e)))!;
    await p.resize(1);
    expect(p.info()['max-concurrency']).toBe(1);
    expect(events('shutdown').map(key)).toEqual([key(idle)]);
    expect(p.executorInfo().filter((e) => e.state === 'busy')).toHaveLength(2);

    // Both jobs complete normally; then only one executor is left.
    const done = await Promise.all(running);
    expect(done.map((o) => resultOf<{ slept: number }>(o).slept)).toEqual([1500, 1500]);
    await waitFor('the busy executor to stop after its job', () => events('shutdown').length === 2);
    expect(p.info().processes).toHaveLength(1);
    const left = resultOf<Where>(await p.execute(makeJob('pool.whoami')));
    expect(busy.map(key)).toContain(key(left));
    expect(p.info()).toMatchObject({ spawned: 3, lost: 0 });
  });
});
