/**
 * The Workers page's operator actions against a real Lovage worker reached by remote control: resizing a
 * pool and changing a task's rate or time limits live, each audited with its outcome; bad values are
 * refused before anything is sent and leave no trace.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type App } from '@lovage/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_KINDS,
  startHarness,
  startWorkerSide,
  type Harness,
  type TestUser,
  type WorkerSide,
} from './support/harness';
import { rejects } from './support/rejects';

describe.each(DB_KINDS)('workers: pool and live limits (%s)', (kind) => {
  let h: Harness;
  let operator: TestUser;
  let viewer: TestUser;
  let app: App;
  let worker: Worker;
  let side: WorkerSide;

  const entries = (action: string, target: string) =>
    h.services.prisma.auditEntry.findMany({ where: { action, target }, orderBy: { id: 'asc' } });

  beforeAll(async () => {
    h = await startHarness(kind);
    [operator, viewer] = await Promise.all([h.createUser('operator'), h.createUser('viewer')]);
    side = await startWorkerSide(h, {
      queues: [`q-${randomUUID()}`],
      concurrency: 2,
      register: (a) => a.task('demo.limited', (_ctx, ms: number) => sleep(ms).then(() => ms)),
    });
    ({ app, worker } = side);
  });
  afterAll(async () => {
    await side?.close();
    await h?.close();
  });

  it('grows and shrinks a pool; the audit holds the size the worker reported before and after', async () => {
    const c = await h.callerFor(operator);
    const grown = await c.workers.resizePool({
      hostname: worker.hostname,
      direction: 'grow',
      n: 3,
      reason: 'backlog',
    });
    expect(grown.message).toBe(`${worker.hostname}: pool will grow`);
    expect(worker.concurrency).toBe(5);
    await c.workers.resizePool({ hostname: worker.hostname, direction: 'shrink', n: 4 });
    expect(worker.concurrency).toBe(1);

    const [grow] = await entries('pool.grow', worker.hostname);
    expect(grow).toMatchObject({ outcome: 'ok', actorEmail: operator.email, reason: 'backlog' });
    expect([grow?.before, grow?.after]).toEqual([
      { concurrency: 2, change: 3 },
      { concurrency: 5, change: 3 },
    ]);
    const [shrink] = await entries('pool.shrink', worker.hostname);
    expect([shrink?.before, shrink?.after]).toEqual([
      { concurrency: 5, change: -4 },
      { concurrency: 1, change: -4 },
    ]);
  });

  it('a shrink below one process is refused by the worker, shown and audited as an error', async () => {
    const c = await h.callerFor(operator);
    const err = await rejects(
      c.workers.resizePool({ hostname: worker.hostname, direction: 'shrink', n: 5 }),
      'BAD_REQUEST',
    );
    expect(err.message).toContain('cannot shrink the pool below 1');
    expect(worker.concurrency).toBe(1);
    const all = await entries('pool.shrink', worker.hostname);
    expect(all.at(-1)).toMatchObject({ outcome: 'error', detail: { error: err.message } });
  });

  it('makes the worker consume another queue and stop again; the audit holds its queues before and after', async () => {
    const c = await h.callerFor(operator);
    const [home] = worker.queues;
    const extra = `extra-${randomUUID().slice(0, 8)}`;
    const added = await c.workers.setConsumer({ hostname: worker.hostname, queue: extra, action: 'add' });
    expect(added.message).toBe(`${worker.hostname}: add consumer ${extra}`);
    expect(worker.queues).toEqual([home, extra]);
    const listed = (await c.workers.find()).find((w) => w.hostname === worker.hostname);
    expect(listed?.queues).toEqual([home, extra].sort());

    await c.workers.setConsumer({
      hostname: worker.hostname,
      queue: extra,
      action: 'cancel',
      reason: 'drained',
    });
    expect(worker.queues).toEqual([home]);
    const [add] = await entries('queue.add', worker.hostname);
    expect([add?.before, add?.after, add?.outcome]).toEqual([
      { queues: [home] },
      { queues: [home, extra].sort() },
      'ok',
    ]);
    const [cancel] = await entries('queue.cancel', worker.hostname);
    expect(cancel).toMatchObject({ reason: 'drained', after: { queues: [home] } });

    // The worker refuses to drop its only queue: shown with its words, audited as an error.
    const err = await rejects(
      c.workers.setConsumer({ hostname: worker.hostname, queue: home!, action: 'cancel' }),
      'BAD_REQUEST',
    );
    expect(err.message).toContain('it is the only queue consumed');
    expect(worker.queues).toEqual([home]);
    expect((await entries('queue.cancel', worker.hostname)).at(-1)?.outcome).toBe('error');
  });

  it("changes a task's rate and time limits on the running worker, audited", async () => {
    const c = await h.callerFor(operator);
    const rate = await c.workers.setTaskLimit({
      kind: 'rate',
      taskName: 'demo.limited',
      rateLimit: '10/m',
      reason: 'protect the API',
    });
    expect(rate.message).toBe('1 of 1 workers applied it.');
    const registered = (await app.control.inspect('registered', { destination: [worker.hostname] }))[
      worker.hostname
    ];
    expect(registered).toEqual(
      expect.arrayContaining([expect.stringMatching(/^demo\.limited.*rate_limit=10\/m/)]),
    );

    const time = await c.workers.setTaskLimit({ kind: 'time', taskName: 'demo.limited', hard: 10, soft: 5 });
    expect(time.message).toBe('1 of 1 workers applied it.');

    const [r] = await entries('limit.rate', 'demo.limited');
    expect(r).toMatchObject({
      outcome: 'ok',
      actorEmail: operator.email,
      reason: 'protect the API',
      after: { rateLimit: '10/m' },
    });
    const [t] = await entries('limit.time', 'demo.limited');
    expect(t).toMatchObject({ outcome: 'ok', after: { timeLimit: 10, softTimeLimit: 5 } });
  });

  it('a change every worker refused is an error (not a success), audited as one', async () => {
    const c = await h.callerFor(operator);
    const err = await rejects(
      c.workers.setTaskLimit({ kind: 'rate', taskName: 'no.such.task', rateLimit: '1/s' }),
      'BAD_REQUEST',
    );
    expect(err.message).toBe(`0 of 1 workers applied it; failed: ${worker.hostname} (unknown task).`);
    const [entry] = await entries('limit.rate', 'no.such.task');
    expect(entry).toMatchObject({ outcome: 'error', detail: { error: err.message } });
  });

  it('lists each worker with its host, the tasks it runs and the limits it applies now', async () => {
    const c = await h.callerFor(operator);
    await c.workers.setTaskLimit({ kind: 'rate', taskName: 'demo.limited', rateLimit: '7/m' });
    await c.workers.setTaskLimit({ kind: 'time', taskName: 'demo.limited', hard: 30, soft: 20 });
    const listed = (await c.workers.find()).find((w) => w.hostname === worker.hostname);
    expect(listed?.tasks).toEqual(expect.arrayContaining(['demo.limited']));
    expect(listed?.taskLimits['demo.limited']).toEqual({
      rateLimit: '7/m',
      timeLimit: 30,
      softTimeLimit: 20,
    });
    // The async pool has no children to measure; the host is the machine running this test.
    expect(listed?.host).toMatchObject({ cpus: os.availableParallelism(), childRss: null });
    expect(listed?.host?.memoryTotal).toBe(os.totalmem());
    expect(listed?.host?.memoryFree).toBeGreaterThan(0);
    expect(listed?.host?.rss).toBeGreaterThan(0);
  });

  it.for([
    [
      'a rate that is not n/s, n/m or n/h',
      { kind: 'rate', taskName: 'demo.bad1', rateLimit: 'fast' },
      'rateLimit',
    ],
    ['an empty task name', { kind: 'rate', taskName: '  ', rateLimit: '1/s' }, 'taskName'],
    [
      'a soft limit not below the hard one',
      { kind: 'time', taskName: 'demo.bad2', hard: 5, soft: 5 },
      'soft',
    ],
    ['a negative time limit', { kind: 'time', taskName: 'demo.bad3', hard: -1, soft: null }, 'hard'],
    ['a pool change of zero processes', { hostname: 'demo.bad4@test', direction: 'grow', n: 0 }, 'n'],
    ['a queue name with a space', { hostname: 'demo.bad5@test', queue: 'two words', action: 'add' }, 'queue'],
  ] as const)('refuses %s, naming the field; nothing is sent or audited', async ([, input, field]) => {
    const c = await h.callerFor(operator);
    const before = await h.services.prisma.auditEntry.count();
    const call =
      'kind' in input
        ? c.workers.setTaskLimit(input as Parameters<typeof c.workers.setTaskLimit>[0])
        : 'queue' in input
          ? c.workers.setConsumer(input as Parameters<typeof c.workers.setConsumer>[0])
          : c.workers.resizePool(input as Parameters<typeof c.workers.resizePool>[0]);
    const err = await rejects(call, 'BAD_REQUEST');
    expect(err.message).toContain(`"${field}"`);
    expect(await h.services.prisma.auditEntry.count()).toBe(before);
    expect(worker.concurrency).toBe(1);
  });

  it('a viewer can change neither pools, queues nor limits', async () => {
    const c = await h.callerFor(viewer);
    await rejects(c.workers.resizePool({ hostname: worker.hostname, direction: 'grow', n: 1 }), 'FORBIDDEN');
    await rejects(
      c.workers.setTaskLimit({ kind: 'rate', taskName: 'demo.limited', rateLimit: null }),
      'FORBIDDEN',
    );
    await rejects(
      c.workers.setConsumer({ hostname: worker.hostname, queue: 'q', action: 'add' }),
      'FORBIDDEN',
    );
    expect(worker.concurrency).toBe(1);
  });

  it('a change some workers refused is partial: the message names them, audited as partial', async () => {
    const c = await h.callerFor(operator);
    // A second worker on the same broker that does not know demo.limited.
    const other = await startWorkerSide(h, { queues: [`q-${randomUUID()}`], concurrency: 1 });
    try {
      const res = await c.workers.setTaskLimit({ kind: 'rate', taskName: 'demo.limited', rateLimit: '9/m' });
      expect(res.outcome).toBe('partial');
      expect(res.message).toBe(`1 of 2 workers applied it; failed: ${other.worker.hostname} (unknown task).`);
      const entry = (await entries('limit.rate', 'demo.limited')).at(-1);
      expect(entry?.outcome).toBe('partial');
    } finally {
      await other.close();
    }
  });
});
