/**
 * The Queues page's procedures against real Redis: every queue published to is listed with its backlog, the
 * workers consuming it (a real worker answering `active_queues`) and its dead letters; purging needs the
 * queue's name typed again, deletes only waiting messages, and is audited.
 */
import { randomUUID } from 'node:crypto';
import { Worker, type App } from '@lovage/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKER_KIND,
  DB_KINDS,
  startHarness,
  startWorkerSide,
  type Harness,
  type TestUser,
  type WorkerSide,
} from './support/harness';
import { rejects } from './support/rejects';
import { until } from './support/until';

describe.each(DB_KINDS)('queues (%s)', (kind) => {
  let h: Harness;
  let operator: TestUser;
  let viewer: TestUser;
  let app: App;
  let worker: Worker;
  let side: WorkerSide;
  const idle = `idle-${randomUUID()}`;
  const busy = `busy-${randomUUID()}`;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    h = await startHarness(kind);
    [operator, viewer] = await Promise.all([h.createUser('operator'), h.createUser('viewer')]);
    side = await startWorkerSide(h, {
      queues: [busy],
      concurrency: 1,
      register: (a) => a.task('queues.hold', () => held),
    });
    ({ app, worker } = side);
    for (const n of [1, 2, 3]) await app.sendTask('demo.add', [n, n], {}, { queue: idle });
  });
  afterAll(async () => {
    release();
    await side?.close();
    await h?.close();
  });

  it('lists each queue with its backlog, its consumers and dead letters, the largest backlog first', async () => {
    const c = await h.callerFor(viewer);
    const queues = await c.queues.find();
    expect(queues.find((q) => q.name === idle)).toEqual({
      name: idle,
      waiting: 3,
      // RabbitMQ does not tell unacknowledged counts over AMQP: the workers' reports stand in.
      unacked: { count: 0, from: BROKER_KIND === 'amqp' ? 'workers' : 'broker' },
      brokerConsumers: BROKER_KIND === 'amqp' ? 0 : null,
      consumers: [],
      deadLetters: 0,
      paused: null,
    });
    expect(queues.find((q) => q.name === busy)).toMatchObject({ waiting: 0, consumers: [worker.hostname] });
    expect(queues.findIndex((q) => q.name === idle)).toBeLessThan(queues.findIndex((q) => q.name === busy));
  });

  it('counts what a worker holds unacknowledged apart from what waits', async () => {
    const c = await h.callerFor(viewer);
    for (const n of [1, 2]) await app.sendTask('queues.hold', [n], {}, { queue: busy });
    // One runs, acknowledged as it started (early acks, Celery's default); the other waits in the worker.
    const row = await until('the worker running one and holding the other', async () => {
      const q = (await c.queues.find()).find((x) => x.name === busy);
      return q?.unacked.count === 1 && q.waiting === 0 ? q : undefined;
    });
    expect(row.consumers).toEqual([worker.hostname]);
    if (BROKER_KIND === 'amqp') expect(row.brokerConsumers).toBe(1);
    if (BROKER_KIND === 'amqp') expect(row.brokerConsumers).toBe(1);
    release();
    await until('nothing held', async () => {
      const q = (await c.queues.find()).find((x) => x.name === busy);
      return q?.unacked.count === 0 ? q : undefined;
    });
  });

  it('refuses a purge whose confirmation is not the queue name, and a viewer; nothing deleted or audited', async () => {
    const before = await h.services.prisma.auditEntry.count();
    const c = await h.callerFor(operator);
    const err = await rejects(c.queues.purge({ queue: idle, confirm: 'idle' }), 'BAD_REQUEST');
    expect(err.message).toContain('"confirm"');
    expect(err.message).toContain("type the queue's name to confirm");
    await rejects((await h.callerFor(viewer)).queues.purge({ queue: idle, confirm: idle }), 'FORBIDDEN');
    expect(await app.broker.queueLength(idle)).toBe(3);
    expect(await h.services.prisma.auditEntry.count()).toBe(before);
  });

  it('purges the waiting messages when confirmed, audited with the backlog before and after', async () => {
    const c = await h.callerFor(operator);
    const res = await c.queues.purge({ queue: idle, confirm: idle, reason: 'stale batch' });
    expect(res).toEqual({ purged: 3, message: `Purged 3 waiting messages from ${idle}.` });
    expect(await app.broker.queueLength(idle)).toBe(0);
    // Still listed: an empty queue is still a queue.
    expect((await c.queues.find()).find((q) => q.name === idle)?.waiting).toBe(0);
    const entry = await h.services.prisma.auditEntry.findFirst({
      where: { action: 'queue.purge', target: idle },
    });
    expect(entry).toMatchObject({
      actorEmail: operator.email,
      outcome: 'ok',
      reason: 'stale batch',
      before: { waiting: 3 },
      after: { waiting: 0 },
      detail: { purged: 3 },
    });
  });

  it('refuses a pause without a reason, a viewer, and resuming a queue not paused; nothing changed or audited', async () => {
    const before = await h.services.prisma.auditEntry.count();
    const c = await h.callerFor(operator);
    const err = await rejects(c.queues.pause({ queue: busy, reason: '  ' }), 'BAD_REQUEST');
    expect(err.message).toContain('"reason"');
    expect(err.message).toContain('say why the queue is paused');
    await rejects((await h.callerFor(viewer)).queues.pause({ queue: busy, reason: 'x' }), 'FORBIDDEN');
    await rejects((await h.callerFor(viewer)).queues.resume({ queue: busy }), 'FORBIDDEN');
    const missing = await rejects(c.queues.resume({ queue: busy }), 'NOT_FOUND');
    expect(missing.message).toBe(`queue ${busy} is not paused`);
    expect(await app.state.queues.paused()).toEqual([]);
    expect(worker.queues).toEqual([busy]);
    expect(await h.services.prisma.auditEntry.count()).toBe(before);
  });

  it('pauses a queue for its worker and resumes it, each audited; the row says who paused it and why', async () => {
    const c = await h.callerFor(operator);
    const paused = await c.queues.pause({ queue: busy, reason: 'payment provider down' });
    expect(paused.message).toBe(`Paused ${busy}: ${worker.hostname} stopped consuming it.`);
    expect(worker.queues).toEqual([]);
    const row = (await c.queues.find()).find((q) => q.name === busy);
    expect(row?.paused).toMatchObject({ by: operator.email, reason: 'payment provider down' });
    expect(row?.consumers).toEqual([]);

    // Sent while paused: it waits in the queue until the worker is told to consume it again.
    await app.sendTask('queues.hold', [9], {}, { queue: busy });
    await new Promise((r) => setTimeout(r, 300));
    expect(await app.broker.queueLength(busy)).toBe(1);
    const resumed = await c.queues.resume({ queue: busy });
    expect(resumed.message).toBe(`Resumed ${busy}: ${worker.hostname} asked to consume it again.`);
    expect(worker.queues).toEqual([busy]);
    await until('the worker to take the waiting task', async () =>
      (await app.broker.queueLength(busy)) === 0 ? true : undefined,
    );
    expect((await c.queues.find()).find((q) => q.name === busy)?.paused).toBeNull();

    const entries = await h.services.prisma.auditEntry.findMany({
      where: { target: busy, action: { in: ['queue.pause', 'queue.resume'] } },
      orderBy: { at: 'asc' },
    });
    expect(entries.map((e) => [e.action, e.outcome, e.actorEmail])).toEqual([
      ['queue.pause', 'ok', operator.email],
      ['queue.resume', 'ok', operator.email],
    ]);
    expect(entries[0]).toMatchObject({
      reason: 'payment provider down',
      before: { paused: null },
      after: { paused: { by: operator.email, reason: 'payment provider down', workers: [worker.hostname] } },
      detail: { stopped: [worker.hostname] },
    });
    expect(entries[1]).toMatchObject({ after: { paused: null }, detail: { workers: [worker.hostname] } });
  });
});
