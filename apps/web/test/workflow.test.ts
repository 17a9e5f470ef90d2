/**
 * A task's workflow (tasks.workflow) and the group actions (tasks.retryGroup, tasks.revokeGroup) against the
 * real Redis index and both databases: the tree by parent with group members gathered, its bound, roles,
 * one audit entry per group action naming every task, and bad input refused with nothing changed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '@lovage/runtime';
import {
  buildWorkflowTree,
  type Workflow,
  type WorkflowGroup,
  type WorkflowNode,
  type WorkflowTask,
} from '../src/server/presenters/workflow-presenter';
import { WORKFLOW_LIMIT } from '../src/server/routers/tasks/get-task-workflow';
import { BROKER_KIND, DB_KINDS, startHarness, type Harness, type TestUser } from './support/harness';
import { ev, type TaskSpec } from './support/events';
import { rejects } from './support/rejects';
import { describeIssues } from '../src/trpc/zod-messages';

/** What the console shows for a refused input: the fields by name (the server's error formatter does this). */
const shown = (err: { cause?: unknown }) =>
  describeIssues((err.cause as { issues: { path: string[]; message: string }[] }).issues);

/** The tree as [name, state, children] with groups as ['group', members], for whole-shape comparisons. */
type Shape = (string | Shape)[];
function shape(nodes: WorkflowNode[]): Shape {
  return nodes.map((n) =>
    n.kind === 'group'
      ? ['group', shape(n.members)]
      : [`${n.name}${n.current ? '*' : ''}`, n.state, shape(n.children)],
  );
}

const find = (nodes: WorkflowNode[], pred: (n: WorkflowNode) => boolean): WorkflowNode | undefined => {
  for (const n of nodes) {
    if (pred(n)) return n;
    const inner = find(n.kind === 'group' ? n.members : n.children, pred);
    if (inner) return inner;
  }
  return undefined;
};

describe.each(DB_KINDS)('workflow view and group actions (%s)', (kind) => {
  let h: Harness;
  let operator: TestUser;
  let viewer: TestUser;
  const t0 = Date.now() - 60_000;
  const wf = randomUUID();
  const group = randomUUID();
  // chain(a, b, group(m1, m2, m3)) then c after m1: every task rooted at a.
  const a: TaskSpec = { id: wf, name: 'flow.a', at: t0 };
  const b: TaskSpec = { id: randomUUID(), name: 'flow.b', at: t0 + 100, parentId: wf, rootId: wf };
  const member = (n: number): TaskSpec => ({
    id: randomUUID(),
    name: `flow.m${n}`,
    at: t0 + 200 + n,
    parentId: b.id,
    rootId: wf,
    group,
    queue: 'members',
  });
  const [m1, m2, m3] = [member(1), member(2), member(3)];
  const c: TaskSpec = { id: randomUUID(), name: 'flow.c', at: t0 + 400, parentId: m1.id, rootId: wf };
  // A group sent on its own: each member its own root, linked only by the group.
  const solo = randomUUID();
  const s1: TaskSpec = { id: randomUUID(), name: 'solo.one', at: t0 + 500, group: solo };
  const s2: TaskSpec = { id: randomUUID(), name: 'solo.two', at: t0 + 501, group: solo };
  // A wide workflow: more children than the view shows.
  const wide: TaskSpec = { id: randomUUID(), name: 'wide.root', at: t0 + 600 };
  const wideKids = Array.from({ length: WORKFLOW_LIMIT + 10 }, (_, i) => ({
    id: randomUUID(),
    name: 'wide.kid',
    at: t0 + 700 + i,
    parentId: wide.id,
    rootId: wide.id,
  }));

  beforeAll(async () => {
    h = await startHarness(kind);
    [operator, viewer] = await Promise.all([h.createUser('operator'), h.createUser('viewer')]);
    await h.services.lovage.taskIndex.apply([
      ev.sent(a),
      ev.received(a, 'w1@host', t0 + 10),
      ev.succeeded(a.id, 'w1@host', t0 + 20),
      ev.sent(b),
      ev.received(b, 'w1@host', t0 + 110),
      ev.succeeded(b.id, 'w1@host', t0 + 120),
      ev.sent(m1),
      ev.received(m1, 'w1@host', t0 + 210),
      ev.succeeded(m1.id, 'w1@host', t0 + 220),
      ev.sent(m2),
      ev.received(m2, 'w2@host', t0 + 230, { args: [2], kwargs: {} }),
      ev.failed(m2.id, 'w2@host', t0 + 240, "ValueError('m2')", 'Traceback'),
      // Sent by a Celery client to a Celery worker: no JSON arguments, so it cannot be retried.
      ev.sent(m3),
      ev.received(m3, 'w2@host', t0 + 250),
      ev.failed(m3.id, 'w2@host', t0 + 260, "ValueError('m3')", 'Traceback'),
      ev.sent(c),
      ev.received(c, 'w1@host', t0 + 410),
      ev.started(c.id, 'w1@host', t0 + 420),
      ev.sent(s1),
      ev.sent(s2),
      ev.received(s2, 'w1@host', t0 + 510, { args: [], kwargs: {} }),
      ev.failed(s2.id, 'w1@host', t0 + 520, 'E()', 'Traceback'),
      ev.sent(wide),
      ...wideKids.map((k) => ev.sent(k)),
    ]);
  });
  afterAll(() => h?.close());

  it('shows the tree from the root by parent, group members gathered, the task marked', async () => {
    const view = await (await h.callerFor(viewer)).tasks.workflow({ id: m2.id });
    expect(view).toMatchObject({ rootId: wf, rootKnown: true, shown: 6, more: 0 });
    expect(shape(view.nodes)).toEqual([
      [
        'flow.a',
        'SUCCESS',
        [
          [
            'flow.b',
            'SUCCESS',
            [
              [
                'group',
                [
                  ['flow.m1', 'SUCCESS', [['flow.c', 'STARTED', []]]],
                  ['flow.m2*', 'FAILURE', []],
                  ['flow.m3', 'FAILURE', []],
                ],
              ],
            ],
          ],
        ],
      ],
    ]);
    const g = find(view.nodes, (n) => n.kind === 'group') as WorkflowGroup;
    expect(g).toMatchObject({ id: group, total: 3, failed: 2, unfinished: 0 });
    const c1 = find(view.nodes, (n) => n.id === c.id) as WorkflowTask;
    expect(c1).toMatchObject({ sentAt: c.at, startedAt: t0 + 420, finishedAt: null, group: null });
    expect(new Set(view.ids)).toEqual(new Set([a.id, b.id, m1.id, m2.id, m3.id, c.id]));
    // The same tree from any of its tasks, the root included.
    const fromRoot = await (await h.callerFor(viewer)).tasks.workflow({ id: wf });
    expect(shape(fromRoot.nodes)[0]![0]).toBe('flow.a*');
  });

  it('shows the siblings of a group sent on its own; a task alone is alone', async () => {
    const view: Workflow = await (await h.callerFor(viewer)).tasks.workflow({ id: s1.id });
    expect(shape(view.nodes)).toEqual([
      [
        'group',
        [
          ['solo.one*', 'PENDING', []],
          ['solo.two', 'FAILURE', []],
        ],
      ],
    ]);
    expect(view).toMatchObject({ shown: 2, more: 0 });
    const kid = await (await h.callerFor(viewer)).tasks.workflow({ id: wideKids[0]!.id });
    expect(kid.rootId).toBe(wide.id);
  });

  it(`shows at most ${WORKFLOW_LIMIT} tasks and says how many more there are`, async () => {
    const view = await (await h.callerFor(viewer)).tasks.workflow({ id: wide.id });
    expect(view.shown).toBe(WORKFLOW_LIMIT);
    expect(view.more).toBe(wideKids.length + 1 - WORKFLOW_LIMIT);
    expect(view.limit).toBe(WORKFLOW_LIMIT);
    const root = view.nodes[0] as WorkflowTask;
    expect(root).toMatchObject({ id: wide.id, current: true });
    expect(root.children).toHaveLength(WORKFLOW_LIMIT - 1);
    // The task asked for is always there, even past the bound.
    const last = wideKids[wideKids.length - 1]!;
    const fromLast = await (await h.callerFor(viewer)).tasks.workflow({ id: last.id });
    expect(fromLast.ids).toContain(last.id);
    expect(fromLast.shown).toBe(WORKFLOW_LIMIT);
  });

  it('refuses an unknown or malformed task id', async () => {
    const c1 = await h.callerFor(viewer);
    await rejects(c1.tasks.workflow({ id: 'no-such-task' }), 'NOT_FOUND');
    const err = await rejects(c1.tasks.workflow({ id: '  ' }), 'BAD_REQUEST');
    expect(shown(err)).toBe('Task id is required');
  });

  it('lets only operators act on a group', async () => {
    const c1 = await h.callerFor(viewer);
    await rejects(c1.tasks.revokeGroup({ group }), 'FORBIDDEN');
    await rejects(c1.tasks.retryGroup({ group }), 'FORBIDDEN');
    expect(await h.services.prisma.auditEntry.count({ where: { target: group } })).toBe(0);
  });

  it('refuses a malformed or unknown group, naming the field, and changes nothing', async () => {
    const c1 = await h.callerFor(operator);
    const bad = await rejects(c1.tasks.revokeGroup({ group: 'two words' }), 'BAD_REQUEST');
    expect(shown(bad)).toBe('Group must not contain spaces');
    expect(shown(await rejects(c1.tasks.retryGroup({ group: '' }), 'BAD_REQUEST'))).toBe('Group is required');
    const unknown = randomUUID();
    const err = await rejects(c1.tasks.revokeGroup({ group: unknown }), 'NOT_FOUND');
    expect(err.message).toBe(`Group: no task of group ${unknown} in the index.`);
    await rejects(c1.tasks.retryGroup({ group: unknown }), 'NOT_FOUND');
    expect(await h.services.prisma.auditEntry.count({ where: { target: unknown } })).toBe(0);
    expect(await h.redis.zcard(`${h.prefix}lovage:revoked`)).toBe(0);
  });

  it('retries the failed members it can, skips the others, in one audit entry', async () => {
    const c1 = await h.callerFor(operator);
    const res = await c1.tasks.retryGroup({ group, reason: 'db is back' });
    expect(res.retried.map((r) => r.id)).toEqual([m2.id]);
    expect(res.skipped).toEqual([{ id: m3.id, reason: 'cannot retry: original arguments unknown' }]);
    expect(res.message).toMatch(/^Sent 1 failed task again; 1 could not be/);
    const newId = res.retried[0]!.newTaskId;
    if (BROKER_KIND === 'redis') {
      // Re-sent as the single Retry does: on the member's queue, the failed member its parent.
      const raw = await h.redis.lrange(`${h.prefix}members`, 0, -1);
      const msg = raw
        .map((m) => JSON.parse(m) as { headers: Record<string, unknown> })
        .find((m) => m.headers.id === newId);
      expect(msg?.headers).toMatchObject({ task: 'flow.m2', parent_id: m2.id, root_id: wf });
    }
    const entries = await h.services.prisma.auditEntry.findMany({ where: { target: group } });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'group.retry',
      outcome: 'partial',
      reason: 'db is back',
      actorEmail: operator.email,
    });
    expect(entries[0]!.after).toMatchObject({ retried: [{ id: m2.id, newTaskId: newId }] });
    expect(entries[0]!.detail).toEqual({
      skipped: [{ id: m3.id, reason: 'cannot retry: original arguments unknown' }],
    });
  });

  it('refuses to retry a group with no failed member, audited', async () => {
    const c1 = await h.callerFor(operator);
    await h.services.lovage.taskIndex.apply([
      ev.succeeded(s2.id, 'w1@host', t0 + 530),
      ev.received(s1, 'w1@host', t0 + 540),
      ev.succeeded(s1.id, 'w1@host', t0 + 550),
    ]);
    // s2 failed, then succeeded (Celery's precedence), s1 too: no member has failed now.
    const none = await rejects(c1.tasks.retryGroup({ group: solo }), 'PRECONDITION_FAILED');
    expect(none.message).toBe(`cannot retry: no member of group ${solo} failed`);
    const entry = await h.services.prisma.auditEntry.findFirst({ where: { target: solo } });
    expect(entry).toMatchObject({ action: 'group.retry', outcome: 'error' });
  });

  it('revokes every member in one revoke, one audit entry naming each task', async () => {
    const c1 = await h.callerFor(operator);
    const res = await c1.tasks.revokeGroup({ group, reason: 'wrong input' });
    const ids = [m1.id, m2.id, m3.id];
    expect([...res.taskIds].sort()).toEqual([...ids].sort());
    const revoked = await h.redis.zrange(`${h.prefix}lovage:revoked`, 0, -1);
    expect([...revoked].sort()).toEqual([...ids].sort());
    const entries = await h.services.prisma.auditEntry.findMany({
      where: { target: group, action: 'group.revoke' },
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ outcome: 'ok', reason: 'wrong input', actorEmail: operator.email });
    expect(entries[0]!.before).toEqual({ states: { SUCCESS: 1, FAILURE: 2 }, revoked: false });
    const after = entries[0]!.after as { taskIds: string[]; revoked: boolean };
    expect(after.revoked).toBe(true);
    expect([...after.taskIds].sort()).toEqual([...ids].sort());
  });
});

describe('buildWorkflowTree', () => {
  const rec = (id: string, parentId: string | null, at: number, group: string | null = null): TaskRecord => ({
    id,
    name: `t.${id}`,
    state: 'SUCCESS',
    args: null,
    kwargs: null,
    result: null,
    exception: null,
    traceback: null,
    worker: null,
    queue: null,
    retries: 0,
    parentId,
    rootId: null,
    group,
    eta: null,
    expires: null,
    runtime: null,
    argsJson: null,
    kwargsJson: null,
    rejectReason: null,
    deadLetter: null,
    timestamps: { sent: at },
    updatedAt: at,
  });
  const opts = { currentId: 'x', groupTotals: new Map<string, number>() };

  it('orders siblings as sent and boxes a group where its first member stands', () => {
    const tree = buildWorkflowTree(
      [rec('r', null, 0), rec('d', 'r', 4), rec('g2', 'r', 3, 'g'), rec('a', 'r', 1), rec('g1', 'r', 2, 'g')],
      opts,
    );
    expect(shape(tree)).toEqual([
      [
        't.r',
        'SUCCESS',
        [
          ['t.a', 'SUCCESS', []],
          [
            'group',
            [
              ['t.g1', 'SUCCESS', []],
              ['t.g2', 'SUCCESS', []],
            ],
          ],
          ['t.d', 'SUCCESS', []],
        ],
      ],
    ]);
  });

  it('shows every task once when parents loop, and a chain thousands of steps deep', () => {
    const loop = buildWorkflowTree([rec('p', 'q', 1), rec('q', 'p', 2), rec('self', 'self', 3)], opts);
    const ids: string[] = [];
    const walk = (nodes: WorkflowNode[]) =>
      nodes.forEach((n) => (n.kind === 'task' ? (ids.push(n.id), walk(n.children)) : walk(n.members)));
    walk(loop);
    expect(ids.sort()).toEqual(['p', 'q', 'self']);
    const chain = Array.from({ length: 5000 }, (_, i) => rec(`s${i}`, i === 0 ? null : `s${i - 1}`, i));
    let node = buildWorkflowTree(chain, opts)[0] as WorkflowTask;
    let depth = 1;
    while (node.children.length > 0) {
      node = node.children[0] as WorkflowTask;
      depth++;
    }
    expect(depth).toBe(5000);
  });
});
