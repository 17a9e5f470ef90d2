import { randomUUID } from 'node:crypto';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appRouter } from '../src/server/routers/app-router';
import { createContext } from '../src/server/trpc/init';
import { plural } from '../src/components/plural';
import { describeIssues } from '../src/trpc/zod-messages';
import { BROKER_KIND, DB_KINDS, startHarness, type Harness, type TestUser } from './support/harness';
import { rejects } from './support/rejects';
import { ev } from './support/events';

describe.each(DB_KINDS)('tasks, workers and operator actions (%s)', (kind) => {
  let h: Harness;
  let operator: TestUser;
  let viewer: TestUser;
  const t0 = Date.now() - 60_000;
  const parent = { id: randomUUID(), name: 'demo.add', at: t0, args: '(2, 3)', queue: 'celery' };
  const child = {
    id: randomUUID(),
    name: 'demo.fail',
    at: t0 + 2000,
    parentId: parent.id,
    rootId: parent.id,
    queue: 'emails',
  };
  const retryable = { id: randomUUID(), name: 'demo.send', at: t0 + 2500, args: "('a@b.c',)", queue: 'mail' };
  const running = {
    id: randomUUID(),
    name: 'demo.sleep',
    at: t0 + 3000,
    args: "('redis://:hunter2@db:6379/0',)",
  };
  const many = Array.from({ length: 12 }, (_, i) => ({
    id: randomUUID(),
    name: 'demo.bulk',
    at: t0 + 10_000 + i,
  }));

  beforeAll(async () => {
    h = await startHarness(kind);
    [operator, viewer] = await Promise.all([h.createUser('operator'), h.createUser('viewer')]);
    await h.services.lovage.taskIndex.apply([
      ev.sent(parent),
      ev.received(parent, 'w1@host', t0 + 100),
      ev.started(parent.id, 'w1@host', t0 + 200),
      ev.succeeded(parent.id, 'w1@host', t0 + 300),
      ev.sent(child),
      ev.received(child, 'w2@host', t0 + 2100),
      ev.started(child.id, 'w2@host', t0 + 2200),
      ev.failed(
        child.id,
        'w2@host',
        t0 + 2300,
        "ValueError('boom')",
        'Traceback (most recent call last):\nValueError: boom',
      ),
      ev.sent(retryable),
      ev.received(retryable, 'w2@host', t0 + 2600, { args: ['a@b.c'], kwargs: { urgent: true } }),
      ev.failed(retryable.id, 'w2@host', t0 + 2700, "OSError('smtp down')", 'Traceback...'),
      ev.sent(running),
      ev.received(running, 'w1@host', t0 + 3100),
      ev.started(running.id, 'w1@host', t0 + 3200),
      ...many.map((t) => ev.sent(t)),
      ev.heartbeat('w1@host', Date.now(), {
        lovage: { settingsVersion: 3, pool: 'prefork', concurrency: 4 },
      }),
    ]);
  });
  afterAll(() => h?.close());

  it('lists tasks newest first with server-side pagination', async () => {
    const c = await h.callerFor(viewer);
    const page1 = await c.tasks.find({ page: 1, perPage: 10 });
    expect(page1.total).toBe(16);
    expect(page1.items).toHaveLength(10);
    expect(page1.items[0]!.id).toBe(many[11]!.id);
    const page2 = await c.tasks.find({ page: 2, perPage: 10 });
    expect(page2.items.map((t) => t.id)).toEqual([
      many[1]!.id,
      many[0]!.id,
      running.id,
      retryable.id,
      child.id,
      parent.id,
    ]);
  });

  it('filters by state, name, worker, queue, time range and id', async () => {
    const c = await h.callerFor(viewer);
    expect((await c.tasks.find({ state: 'FAILURE' })).items.map((t) => t.id)).toEqual([
      retryable.id,
      child.id,
    ]);
    expect((await c.tasks.find({ name: 'demo.add' })).items.map((t) => t.id)).toEqual([parent.id]);
    expect((await c.tasks.find({ worker: 'w1@host' })).items.map((t) => t.id)).toEqual([
      running.id,
      parent.id,
    ]);
    expect((await c.tasks.find({ queue: 'emails' })).items.map((t) => t.id)).toEqual([child.id]);
    expect((await c.tasks.find({ from: t0 + 2000, to: t0 + 3500 })).items.map((t) => t.id)).toEqual([
      running.id,
      retryable.id,
      child.id,
    ]);
    expect((await c.tasks.find({ id: parent.id })).total).toBe(1);
    expect((await c.tasks.find({ state: 'SUCCESS', worker: 'w2@host' })).total).toBe(0);
    const facets = await c.tasks.facets();
    expect(facets.names).toEqual(['demo.add', 'demo.bulk', 'demo.fail', 'demo.send', 'demo.sleep']);
    expect(facets.counts.FAILURE).toBe(2);
  });

  it('rejects a bad filter value', async () => {
    const c = await h.callerFor(viewer);
    const err = await rejects(c.tasks.find({ state: 'EXPLODED' as 'SUCCESS' }), 'BAD_REQUEST');
    expect(err.cause).toBeDefined();
    await rejects(c.tasks.find({ perPage: 5000 }), 'BAD_REQUEST');
  });

  it('words bad input for people: fields by name, no zod jargon, over HTTP as the browser gets it', async () => {
    const cookie = await h.signIn(viewer);
    const input = encodeURIComponent(JSON.stringify({ perPage: 5000, minutes: 60 }));
    const headers = new Headers({ cookie });
    const res = await fetchRequestHandler({
      endpoint: '/api/trpc',
      req: new Request(`http://console.test/api/trpc/tasks.find?input=${input}`, { headers }),
      router: appRouter,
      createContext: () => createContext({ services: h.services, headers }),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as {
      error: { message: string; data: { issues: { path: string[]; message: string }[] } };
    };
    expect(error.message).toBe('Rows per page must be at most 100');
    expect(error.data.issues).toEqual([{ path: ['perPage'], message: 'must be at most 100' }]);
    // The same words for what a form's number box sends when it is empty or not a number.
    const nan = z.object({ n: z.number().int().max(100) }).safeParse({ n: Number.NaN });
    expect(describeIssues(nan.error!.issues as { path: string[]; message: string }[])).toBe(
      'Number of processes must be a number',
    );
    expect(describeIssues([{ path: ['taskName'], message: 'enter a task name' }])).toBe('Enter a task name');
    expect([plural(1, 'waiting message'), plural(3, 'waiting message')]).toEqual([
      '1 waiting message',
      '3 waiting messages',
    ]);
  });

  it('shows a task with its exception, traceback, timeline, parent and children; secrets masked', async () => {
    const c = await h.callerFor(viewer);
    const failed = await c.tasks.get({ id: child.id });
    expect(failed).toMatchObject({
      state: 'FAILURE',
      exception: "ValueError('boom')",
      worker: 'w2@host',
      final: true,
    });
    expect(failed.traceback).toContain('ValueError: boom');
    expect(failed.timeline.map((e) => e.kind)).toEqual(['sent', 'received', 'started', 'failed']);
    expect(failed.parent?.id).toBe(parent.id);
    const p = await c.tasks.get({ id: parent.id });
    expect(p.children.map((t) => t.id)).toEqual([child.id]);
    expect(p.result).toBe('5');
    const r = await c.tasks.get({ id: running.id });
    expect(r.args).toBe("('redis://:****@db:6379/0',)");
    await rejects(c.tasks.get({ id: 'no-such-task' }), 'NOT_FOUND');
  });

  it('shows sent before started when the client stamped it a little later (clock skew)', async () => {
    const late = { id: randomUUID(), name: 'demo.skewed', at: t0 + 5300 };
    await h.services.lovage.taskIndex.apply([
      ev.received(late, 'w1@host', t0 + 5000),
      ev.started(late.id, 'w1@host', t0 + 5100),
      ev.sent(late),
    ]);
    const c = await h.callerFor(viewer);
    const { timeline } = await c.tasks.get({ id: late.id });
    expect(timeline.map((e) => e.kind)).toEqual(['sent', 'received', 'started']);
    // The times stay what the machines said.
    expect(timeline[0]).toEqual({ kind: 'sent', at: t0 + 5300 });
  });

  it('revokes, and revokes and terminates, with the outcome audited', async () => {
    const c = await h.callerFor(operator);
    const res = await c.tasks.revoke({ id: running.id, terminate: false, reason: 'stuck' });
    expect(res.message).toMatch(/Revoked/);
    const term = await c.tasks.revoke({ id: running.id, terminate: true });
    expect(term.terminate).toBe(true);
    const revoked = await h.redis.zrange(`${h.prefix}lovage:revoked`, 0, -1);
    expect(revoked).toContain(running.id);
    const entries = await h.services.prisma.auditEntry.findMany({
      where: { target: running.id },
      orderBy: { id: 'asc' },
    });
    expect(entries.map((e) => [e.action, e.outcome, e.actorEmail, e.reason])).toEqual([
      ['task.revoke', 'ok', operator.email, 'stuck'],
      ['task.terminate', 'ok', operator.email, null],
    ]);
    // The task is context on both sides; the diff is what the revoke changed.
    const task = { name: 'demo.sleep', state: 'STARTED', worker: expect.any(String) as unknown };
    expect(entries[0]!.before).toEqual({ ...task, revoked: false });
    expect(entries[0]!.after).toEqual({ ...task, revoked: true, terminate: false });
    expect(entries[1]!.after).toEqual({ ...task, revoked: true, terminate: true });
  });

  it('refuses to retry without the original arguments, and audits the refusal', async () => {
    const c = await h.callerFor(operator);
    const err = await rejects(
      c.tasks.retry({ id: child.id, reason: 'fixed the bug' }),
      'PRECONDITION_FAILED',
    );
    expect(err.message).toBe('cannot retry: original arguments unknown');
    const entry = await h.services.prisma.auditEntry.findFirst({
      where: { action: 'task.retry', target: child.id },
    });
    expect(entry).toMatchObject({ outcome: 'error', reason: 'fixed the bug', actorEmail: operator.email });
    expect(entry?.detail).toEqual({ error: 'cannot retry: original arguments unknown' });
    await rejects(c.tasks.retry({ id: 'no-such-task' }), 'NOT_FOUND');
  });

  // Reads the message off the Redis queue list: on another broker only the Redis run checks it.
  it.runIf(BROKER_KIND === 'redis')(
    'retries with the original arguments as a new task linked to the old one, audited (read off the Redis queue)',
    async () => {
      const c = await h.callerFor(operator);
      const detail = await c.tasks.get({ id: retryable.id });
      expect(detail.retryBlockedReason).toBeNull();
      const res = await c.tasks.retry({ id: retryable.id, reason: 'smtp is back' });
      expect(res.newTaskId).not.toBe(retryable.id);
      // The new task sits on the old one's queue, with the same arguments and the old task as its parent.
      const raw = await h.redis.lrange(`${h.prefix}mail`, 0, -1);
      const message = raw
        .map((m) => JSON.parse(m) as { headers: Record<string, unknown>; body: string })
        .find((m) => m.headers.id === res.newTaskId);
      expect(message?.headers).toMatchObject({
        task: 'demo.send',
        parent_id: retryable.id,
        root_id: retryable.id,
      });
      const [args, kwargs] = JSON.parse(Buffer.from(message!.body, 'base64').toString('utf8')) as [
        unknown[],
        object,
      ];
      expect([args, kwargs]).toEqual([['a@b.c'], { urgent: true }]);
      const entry = await h.services.prisma.auditEntry.findFirst({
        where: { action: 'task.retry', target: retryable.id },
      });
      expect(entry).toMatchObject({ outcome: 'ok', reason: 'smtp is back', actorEmail: operator.email });
      const task = { name: 'demo.send', state: expect.any(String) as unknown, queue: 'mail' };
      expect(entry?.before).toEqual({ ...task, newTaskId: null });
      expect(entry?.after).toEqual({ ...task, newTaskId: res.newTaskId });
      // A task still running is not retried (it would run twice).
      const err = await rejects(c.tasks.retry({ id: running.id }), 'PRECONDITION_FAILED');
      expect(err.message).toMatch(/still STARTED|original arguments/);
    },
  );

  it('charts finished tasks per minute over the last hour; a range it does not offer is refused', async () => {
    const c = await h.callerFor(viewer);
    const { bucketMs, buckets } = await c.tasks.activity({ minutes: 60 });
    expect(bucketMs).toBe(60_000);
    expect(buckets).toHaveLength(60);
    expect(buckets.at(-1)!.at + bucketMs).toBeGreaterThan(Date.now());
    const sum = (s: string) => buckets.reduce((n, b) => n + (b.counts[s] ?? 0), 0);
    // The seeded tasks that finished a minute ago: demo.add succeeded; demo.fail and demo.send failed.
    expect([sum('SUCCESS'), sum('FAILURE'), sum('REVOKED')]).toEqual([1, 2, 0]);
    const err = await rejects(c.tasks.activity({ minutes: 7 }), 'BAD_REQUEST');
    expect(err.message).toContain('must be 60, 360 or 1440');
  });

  it('charts only the tasks the name, worker and queue filters select', async () => {
    const c = await h.callerFor(viewer);
    const finished = async (filter: { name?: string; worker?: string; queue?: string }) => {
      const { buckets } = await c.tasks.activity({ minutes: 60, ...filter });
      const sum = (s: string) => buckets.reduce((n, b) => n + (b.counts[s] ?? 0), 0);
      return [sum('SUCCESS'), sum('FAILURE')];
    };
    expect(await finished({ name: 'demo.add', worker: 'w1@host' })).toEqual([1, 0]);
    expect(await finished({ queue: 'emails' })).toEqual([0, 1]);
    expect(await finished({ worker: 'w2@host' })).toEqual([0, 2]);
    expect(await finished({ name: 'demo.add', worker: 'w2@host' })).toEqual([0, 0]);
  });

  it('pushes index changes to subscribers', async () => {
    const c = await h.callerFor(viewer);
    const iterable = await c.tasks.onChange();
    const it = iterable[Symbol.asyncIterator]();
    const next = it.next();
    const late = { id: randomUUID(), name: 'demo.add', at: Date.now() };
    // The subscription is registered once the generator starts; give Redis a moment to confirm it.
    await new Promise((r) => setTimeout(r, 200));
    await h.services.lovage.taskIndex.apply([ev.sent(late)]);
    const got = await next;
    expect(got.value).toMatchObject({ ids: [late.id] });
    await it.return?.();
  });

  it('lists workers from the index and remote control', async () => {
    const c = await h.callerFor(viewer);
    const workers = await c.workers.find();
    const w1 = workers.find((w) => w.hostname === 'w1@host');
    expect(w1).toMatchObject({ alive: true, settingsVersion: 3, answered: false });
    expect(w1?.pool.kind).toBe('prefork');
  });

  it('reports a pool resize nobody answered as an error, audited', async () => {
    const c = await h.callerFor(operator);
    const err = await rejects(
      c.workers.resizePool({ hostname: 'ghost@host', direction: 'grow', n: 2 }),
      'GATEWAY_TIMEOUT',
    );
    expect(err.message).toContain('ghost@host');
    const entry = await h.services.prisma.auditEntry.findFirst({
      where: { action: 'pool.grow', target: 'ghost@host' },
    });
    expect(entry?.outcome).toBe('error');
  });
});
