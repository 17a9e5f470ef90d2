/**
 * Replay with edited arguments against real Redis and both databases: the new task runs with what was sent
 * (a masked secret left as shown keeps the original), is linked to the old one as its child, and the audit
 * entry shows the argument diff; bad JSON, a task not finished and a viewer are refused, nothing sent.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ev } from './support/events';
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

describe.each(DB_KINDS)('replay (%s)', (kind) => {
  let h: Harness;
  let operator: TestUser;
  let viewer: TestUser;
  let side: WorkerSide;
  const queue = `replay-${randomUUID()}`;
  const ran: { args: unknown[]; kwargs: Record<string, unknown> }[] = [];
  const t0 = Date.now() - 60_000;
  const failed = { id: randomUUID(), name: 'replay.charge', at: t0, queue };
  const running = { id: randomUUID(), name: 'replay.charge', at: t0 + 10, queue };

  beforeAll(async () => {
    h = await startHarness(kind);
    [operator, viewer] = await Promise.all([h.createUser('operator'), h.createUser('viewer')]);
    side = await startWorkerSide(h, {
      queues: [queue],
      concurrency: 1,
      register: (a) =>
        a.task('replay.charge', (_ctx, ...args: unknown[]) => {
          const kwargs = _ctx.kwargs;
          ran.push({ args, kwargs });
          return 'ok';
        }),
    });
    await h.services.lovage.taskIndex.apply([
      ev.sent(failed),
      ev.received(failed, 'w1@host', t0 + 1, {
        args: [{ card: '4111', amount: 10 }],
        kwargs: { api_token: 'tok-secret', currency: 'EUR' },
      }),
      ev.failed(failed.id, 'w1@host', t0 + 2, "ValueError('declined')", 'Traceback...'),
      ev.sent(running),
      ev.received(running, 'w1@host', t0 + 11, { args: [1], kwargs: {} }),
      ev.started(running.id, 'w1@host', t0 + 12),
    ]);
  });
  afterAll(async () => {
    await side?.close();
    await h?.close();
  });

  it('shows the arguments with secrets masked for the form', async () => {
    const detail = await (await h.callerFor(viewer)).tasks.get({ id: failed.id });
    expect(JSON.parse(detail.replay!.kwargs)).toEqual({ api_token: '****', currency: 'EUR' });
    expect(JSON.parse(detail.replay!.args)).toEqual([{ card: '4111', amount: 10 }]);
  });

  it('replays with edited arguments: the masked token kept, the edit applied, linked and audited', async () => {
    const c = await h.callerFor(operator);
    const res = await c.tasks.replay({
      id: failed.id,
      args: '[{"card": "4111", "amount": 12}]',
      kwargs: '{"api_token": "****", "currency": "USD"}',
      priority: 3,
      reason: 'customer retried with a new amount',
    });
    expect(res.message).toBe(`Replayed as task ${res.newTaskId}.`);
    await until('the replay to run', async () => (ran.length === 1 ? true : undefined));
    expect(ran[0]).toEqual({
      args: [{ card: '4111', amount: 12 }],
      kwargs: { api_token: 'tok-secret', currency: 'USD' },
    });
    const entry = await h.services.prisma.auditEntry.findFirst({
      where: { action: 'task.replay', target: failed.id },
    });
    expect(entry).toMatchObject({
      actorEmail: operator.email,
      outcome: 'ok',
      reason: 'customer retried with a new amount',
      before: {
        args: [{ card: '4111', amount: 10 }],
        kwargs: { api_token: '****', currency: 'EUR' },
        priority: null,
        newTaskId: null,
      },
      after: {
        args: [{ card: '4111', amount: 12 }],
        kwargs: { api_token: '****', currency: 'USD' },
        priority: 3,
        queue,
        newTaskId: res.newTaskId,
      },
    });
    expect(JSON.stringify([entry?.before, entry?.after])).not.toContain('tok-secret');
  });

  it('refuses bad JSON naming the field, a task not finished, an unknown task and a viewer; nothing sent', async () => {
    const c = await h.callerFor(operator);
    const before = ran.length;
    const audits = await h.services.prisma.auditEntry.count();
    const notJson = await rejects(
      c.tasks.replay({ id: failed.id, args: '[1,', kwargs: '{}' }),
      'BAD_REQUEST',
    );
    expect(notJson.message).toContain('"args"');
    expect(notJson.message).toContain('is not JSON');
    const notObject = await rejects(
      c.tasks.replay({ id: failed.id, args: '[]', kwargs: '[1]' }),
      'BAD_REQUEST',
    );
    expect(notObject.message).toContain('"kwargs"');
    expect(notObject.message).toContain('must be a JSON object');
    const badPriority = await rejects(
      c.tasks.replay({ id: failed.id, args: '[]', kwargs: '{}', priority: 12 }),
      'BAD_REQUEST',
    );
    expect(badPriority.message).toContain('"priority"');
    const inFlight = await rejects(
      c.tasks.replay({ id: running.id, args: '[1]', kwargs: '{}' }),
      'PRECONDITION_FAILED',
    );
    expect(inFlight.message).toBe('cannot replay: the task is still STARTED; revoke it first');
    await rejects(c.tasks.replay({ id: randomUUID(), args: '[]', kwargs: '{}' }), 'NOT_FOUND');
    await rejects(
      (await h.callerFor(viewer)).tasks.replay({ id: failed.id, args: '[]', kwargs: '{}' }),
      'FORBIDDEN',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(ran.length).toBe(before);
    expect(await h.services.lovage.app.broker.queueLength(queue)).toBe(0);
    // Refused before anything was attempted: nothing to audit.
    expect(await h.services.prisma.auditEntry.count()).toBe(audits);
  });
});
