/**
 * The Dead letters page's procedures against a real worker that dead-letters what it cannot run (a message
 * that is not JSON, a task nobody registered): listing them with the reason and the raw message (secrets
 * masked), and an operator's requeue and delete, each audited; a letter taken twice is NOT_FOUND, audited.
 */
import { randomUUID } from 'node:crypto';
import type { App } from '@lovage/runtime';
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
import { until } from './support/until';

describe.each(DB_KINDS)('dead letters (%s)', (kind) => {
  let h: Harness;
  let operator: TestUser;
  let viewer: TestUser;
  let app: App;
  let side: WorkerSide;
  const queue = `dl-${randomUUID()}`;
  const junk = 'not json at all, from redis://:hunter2@db:6379/0';
  let unknownTaskId: string;

  beforeAll(async () => {
    h = await startHarness(kind);
    [operator, viewer] = await Promise.all([h.createUser('operator'), h.createUser('viewer')]);
    side = await startWorkerSide(h, { queues: [queue], concurrency: 1 });
    app = side.app;
    await h.redis.lpush(`${h.prefix}${queue}`, junk);
    unknownTaskId = (await app.sendTask('no.such.task', [1], {}, { queue })).id;
    await until('two dead letters', async () => {
      const q = (await app.state.deadLetters.queues()).find((x) => x.queue === queue);
      return q?.count === 2 ? q : undefined;
    });
    // Stopped, so a requeued message stays on the queue for the test to see.
    await side.worker.stop();
  });
  afterAll(async () => {
    await side?.close();
    await h?.close();
  });

  it('lists the queues and their dead letters with the reason, newest first, secrets masked', async () => {
    const c = await h.callerFor(viewer);
    expect(await c.deadLetters.queues()).toContainEqual({ queue, count: 2 });
    const page = await c.deadLetters.find({ queue });
    expect(page).toMatchObject({ total: 2, page: 1 });
    const [unknown, unreadable] = page.items;
    expect(unknown).toMatchObject({
      queue,
      reason: 'unregistered task "no.such.task"',
      taskName: 'no.such.task',
      taskId: unknownTaskId,
      rawTruncated: false,
      body: JSON.stringify([[1], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    });
    expect(unreadable).toMatchObject({ taskName: null, taskId: null, body: null });
    expect(unreadable?.reason).toMatch(/not valid JSON/);
    expect(unreadable?.raw).toBe('not json at all, from redis://:****@db:6379/0');
    expect((await c.deadLetters.find({ queue, page: 2, perPage: 1 })).items).toEqual([unreadable]);
  });

  it('an operator requeues a dead letter: back on its queue as it was, once; audited', async () => {
    const c = await h.callerFor(operator);
    const [letter] = (await c.deadLetters.find({ queue })).items;
    const res = await c.deadLetters.requeue({ queue, id: letter!.id, reason: 'task deployed' });
    expect(res.message).toBe(`Put back on ${queue}, behind the waiting messages.`);
    expect(await app.broker.queueLength(queue)).toBe(1);
    const waiting = await h.redis.lrange(`${h.prefix}${queue}`, 0, -1);
    expect(JSON.parse(waiting[0]!)).toMatchObject({ headers: { id: unknownTaskId, task: 'no.such.task' } });

    const again = await rejects(c.deadLetters.requeue({ queue, id: letter!.id }), 'NOT_FOUND');
    expect(again.message).toContain('someone requeued or deleted it already');
    const entries = await h.services.prisma.auditEntry.findMany({
      where: { action: 'deadletter.requeue' },
      orderBy: { id: 'asc' },
    });
    expect(entries.map((e) => [e.actorEmail, e.target, e.outcome, e.reason])).toEqual([
      [operator.email, `${queue} ${letter!.id}`, 'ok', 'task deployed'],
      [operator.email, `${queue} ${letter!.id}`, 'error', null],
    ]);
  });

  it('an operator deletes the last dead letter; the queue leaves the list; audited', async () => {
    const c = await h.callerFor(operator);
    const [letter] = (await c.deadLetters.find({ queue })).items;
    expect(letter?.taskName).toBeNull();
    expect((await c.deadLetters.delete({ queue, id: letter!.id })).message).toBe('Deleted for good.');
    expect(await c.deadLetters.find({ queue })).toMatchObject({ total: 0, items: [] });
    expect((await c.deadLetters.queues()).map((q) => q.queue)).not.toContain(queue);
    const entry = await h.services.prisma.auditEntry.findFirst({ where: { action: 'deadletter.delete' } });
    expect(entry).toMatchObject({ outcome: 'ok', actorEmail: operator.email, after: { requeued: false } });
  });

  it('a viewer may look but not act; bad values are refused naming the field, nothing audited', async () => {
    const before = await h.services.prisma.auditEntry.count();
    const v = await h.callerFor(viewer);
    await rejects(v.deadLetters.requeue({ queue, id: 'x' }), 'FORBIDDEN');
    await rejects(v.deadLetters.delete({ queue, id: 'x' }), 'FORBIDDEN');
    const c = await h.callerFor(operator);
    expect((await rejects(c.deadLetters.delete({ queue: ' ', id: 'x' }), 'BAD_REQUEST')).message).toContain(
      '"queue"',
    );
    expect((await rejects(c.deadLetters.find({ queue, page: 0 }), 'BAD_REQUEST')).message).toContain(
      '"page"',
    );
    expect(await h.services.prisma.auditEntry.count()).toBe(before);
  });
});
