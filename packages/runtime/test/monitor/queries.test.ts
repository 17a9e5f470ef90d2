/**
 * What the console reads from the task index: filters and pagination, counts, names and queues, children,
 * workers and their liveness, live change notifications, and trimming by count and by age.
 */
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { eventCommon, makeEvent, TaskIndex, type CeleryEvent, type TaskRecord } from '../../src';
import { STATE_URL, uniquePrefix, waitFor } from '../helpers';
import { ev, received, T0, useIndexes } from './helpers';

const newIndex = useIndexes();
const ms = (at: number) => Math.round((T0 + at) * 1000);

interface Spec {
  id: string;
  name: string;
  worker: string;
  queue: string;
  state: 'RECEIVED' | 'STARTED' | 'SUCCESS' | 'FAILURE';
  at: number;
}

/** 40 tasks over 3 names, 2 workers, 2 queues and 4 states; task i was last updated at T0 + i. */
function specs(): Spec[] {
  const states = ['RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE'] as const;
  return Array.from({ length: 40 }, (_, i) => ({
    id: `t${String(i).padStart(2, '0')}`,
    name: `proj.t${i % 3}`,
    worker: `w${i % 2}@test`,
    queue: i % 5 === 0 ? 'slow' : 'fast',
    state: states[i % 4]!,
    at: i,
  }));
}

function eventsOf(s: Spec): CeleryEvent[] {
  const out = [received(s.id, s.at - 0.5, { name: s.name, queue: s.queue }, s.worker)];
  if (s.state !== 'RECEIVED')
    out.push(ev('task-started', s.id, s.at - (s.state === 'STARTED' ? 0 : 0.25), {}, s.worker));
  if (s.state === 'SUCCESS')
    out.push(ev('task-succeeded', s.id, s.at, { result: '1', runtime: 0.25 }, s.worker));
  if (s.state === 'FAILURE')
    out.push(ev('task-failed', s.id, s.at, { exception: 'E()', traceback: 'tb' }, s.worker));
  return out;
}

async function seeded(opts: Parameters<typeof newIndex>[0] = {}): Promise<{ index: TaskIndex; all: Spec[] }> {
  const index = newIndex(opts);
  const all = specs();
  await index.apply(all.flatMap(eventsOf));
  return { index, all };
}

const newestFirst = (list: Spec[]) => [...list].sort((a, b) => b.at - a.at).map((s) => s.id);
const ids = (items: TaskRecord[]) => items.map((r) => r.id);

describe('TaskIndex.list', () => {
  it('pages through every task, newest first, with the total', async () => {
    const { index, all } = await seeded();
    const expected = newestFirst(all);
    const first = await index.list({}, { offset: 0, limit: 15 });
    const second = await index.list({}, { offset: 15, limit: 15 });
    const last = await index.list({}, { offset: 30, limit: 15 });
    expect([first.total, second.total, last.total]).toEqual([40, 40, 40]);
    expect([...ids(first.items), ...ids(second.items), ...ids(last.items)]).toEqual(expected);
    expect((await index.list({}, { offset: 40, limit: 15 })).items).toEqual([]);
    expect(first.items[0]).toMatchObject({ id: 't39', updatedAt: ms(39), worker: 'w1@test', queue: 'fast' });
  });

  // Before trim() the pair indexes are not known complete: filters on several fields walk their indexes
  // (in steps of 3 entries here, so most lists take several); after it, state with name or queue reads one.
  it.each([
    ['walking several indexes', false],
    ['reading the pair indexes', true],
  ])('filters by state, name, worker and queue, alone and together (%s)', async (_, paired) => {
    const { index, all } = await seeded({ walkStep: 3 });
    if (paired) await index.trim();
    const cases: [Parameters<TaskIndex['list']>[0], (s: Spec) => boolean][] = [
      [{ state: 'SUCCESS' }, (s) => s.state === 'SUCCESS'],
      [{ name: 'proj.t1' }, (s) => s.name === 'proj.t1'],
      [{ worker: 'w0@test' }, (s) => s.worker === 'w0@test'],
      [{ queue: 'slow' }, (s) => s.queue === 'slow'],
      [{ state: 'FAILURE', name: 'proj.t2' }, (s) => s.state === 'FAILURE' && s.name === 'proj.t2'],
      [
        { name: 'proj.t0', worker: 'w1@test', queue: 'fast' },
        (s) => s.name === 'proj.t0' && s.worker === 'w1@test' && s.queue === 'fast',
      ],
      [{ state: 'SUCCESS', worker: 'w1@test' }, () => false],
      [{ state: 'RECEIVED', queue: 'fast' }, (s) => s.state === 'RECEIVED' && s.queue === 'fast'],
      [
        { state: 'STARTED', name: 'proj.t1', queue: 'fast' },
        (s) => s.state === 'STARTED' && s.name === 'proj.t1' && s.queue === 'fast',
      ],
      [
        { state: 'SUCCESS', queue: 'slow', from: ms(5), to: ms(30) },
        (s) => s.state === 'SUCCESS' && s.queue === 'slow' && s.at >= 5 && s.at <= 30,
      ],
      [
        { name: 'proj.t0', worker: 'w0@test', from: ms(3), to: ms(27) },
        (s) => s.name === 'proj.t0' && s.worker === 'w0@test' && s.at >= 3 && s.at <= 27,
      ],
      [{ name: 'no.such.task' }, () => false],
    ];
    for (const [filter, pred] of cases) {
      const expected = newestFirst(all.filter(pred));
      const page = await index.list(filter, { offset: 0, limit: 100 });
      expect(page.total, JSON.stringify(filter)).toBe(expected.length);
      expect(ids(page.items), JSON.stringify(filter)).toEqual(expected);
      expect(page.exact).toBe(true);
      const paged = await index.list(filter, { offset: 1, limit: 2 });
      expect(paged.total).toBe(expected.length);
      expect(ids(paged.items)).toEqual(expected.slice(1, 3));
    }
    for (const item of (await index.list({ state: 'FAILURE' }, { offset: 0, limit: 100 })).items) {
      expect(item).toMatchObject({ state: 'FAILURE', exception: 'E()', traceback: 'tb' });
    }
  });

  it('filters by time range (last update, epoch ms) and by exact id', async () => {
    const { index, all } = await seeded();
    const range = await index.list({ from: ms(10), to: ms(19) }, { offset: 0, limit: 100 });
    expect(range.total).toBe(10);
    expect(ids(range.items)).toEqual(newestFirst(all.filter((s) => s.at >= 10 && s.at <= 19)));
    // Paged by rank inside the range: the page starts at the range's newest, not the index's.
    const deep = await index.list({ from: ms(10), to: ms(19) }, { offset: 7, limit: 5 });
    expect([deep.total, ids(deep.items)]).toEqual([10, ['t12', 't11', 't10']]);
    const since = await index.list({ from: ms(35), state: 'STARTED' }, { offset: 0, limit: 100 });
    expect(ids(since.items)).toEqual(['t37']);
    expect((await index.list({ to: ms(-1) }, { offset: 0, limit: 10 })).total).toBe(0);

    expect(await index.list({ id: 't07' }, { offset: 0, limit: 10 })).toMatchObject({
      total: 1,
      items: [{ id: 't07', state: 'FAILURE', name: 'proj.t1' }],
    });
    expect((await index.list({ id: 't07', state: 'SUCCESS' }, { offset: 0, limit: 10 })).total).toBe(0);
    expect((await index.list({ id: 'nope' }, { offset: 0, limit: 10 })).total).toBe(0);
    expect(await index.get('nope')).toBeNull();
  });

  it('the pair indexes follow state changes and trimming', async () => {
    const { index, all } = await seeded();
    await index.trim();
    // t01 (STARTED, proj.t1, fast) succeeds; every STARTED task of proj.t1 is then listed without it.
    await index.apply([ev('task-succeeded', 't01', 50, { result: '1', runtime: 1 }, 'w1@test')]);
    const started = (f: Parameters<TaskIndex['list']>[0]) => index.list(f, { offset: 0, limit: 100 });
    const before = all.filter((s) => s.state === 'STARTED' && s.name === 'proj.t1' && s.id !== 't01');
    expect(ids((await started({ state: 'STARTED', name: 'proj.t1' })).items)).toEqual(newestFirst(before));
    expect(ids((await started({ state: 'SUCCESS', name: 'proj.t1' })).items)[0]).toBe('t01');
    expect(ids((await started({ state: 'SUCCESS', queue: 'fast' })).items)[0]).toBe('t01');
    // Trimmed down to the 5 newest (t01, now the latest, and t39-t36): the pair indexes lose the rest too.
    const prefix = index.base.replace(/lovage:index:$/, '');
    const small = new TaskIndex(STATE_URL, { prefix, maxTasks: 5 });
    try {
      await small.trim();
      expect(ids((await started({ state: 'FAILURE', queue: 'fast' })).items)).toEqual(['t39']);
      expect(ids((await started({ state: 'SUCCESS', queue: 'fast' })).items)).toEqual(['t01', 't38']);
      expect(ids((await started({ state: 'STARTED', name: 'proj.t1' })).items)).toEqual(['t37']);
    } finally {
      await small.close();
    }
  });

  it('scan yields every matching task newest first, in batches, on one index and on a walk', async () => {
    const { index, all } = await seeded({ walkStep: 4 });
    await index.trim();
    const cases: [Parameters<TaskIndex['list']>[0], (s: Spec) => boolean][] = [
      [{}, () => true],
      [{ state: 'SUCCESS', queue: 'fast' }, (s) => s.state === 'SUCCESS' && s.queue === 'fast'],
      [
        { name: 'proj.t2', worker: 'w1@test', to: ms(30) },
        (s) => s.name === 'proj.t2' && s.worker === 'w1@test' && s.at <= 30,
      ],
      [{ id: 't07' }, (s) => s.id === 't07'],
      [{ name: 'no.such.task' }, () => false],
    ];
    for (const [filter, pred] of cases) {
      const batches: string[][] = [];
      for await (const batch of index.scan(filter, 3)) batches.push(ids(batch));
      expect(batches.flat(), JSON.stringify(filter)).toEqual(newestFirst(all.filter(pred)));
      expect(Math.max(0, ...batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    }
  });

  it('a walk that would count past its budget says its total is a lower bound; the page is still exact', async () => {
    const { index, all } = await seeded({ walkStep: 2, countBudget: 4 });
    const filter = { name: 'proj.t1', worker: 'w1@test' };
    const expected = newestFirst(all.filter((s) => s.name === 'proj.t1' && s.worker === 'w1@test'));
    const page = await index.list(filter, { offset: 0, limit: 2 });
    expect(ids(page.items)).toEqual(expected.slice(0, 2));
    expect(page.exact).toBe(false);
    expect(page.total).toBeGreaterThanOrEqual(2);
    expect(page.total).toBeLessThan(expected.length);
    // A page deep enough to reach the end counts everything.
    const all2 = await index.list(filter, { offset: 0, limit: 100 });
    expect([all2.total, all2.exact]).toEqual([expected.length, true]);
  });

  it('files an index built before the pair indexes on trim(), so pair filters see old tasks too', async () => {
    const prefix = uniquePrefix();
    const { all } = await seeded({ prefix });
    // As an index from before the pair indexes: none of their keys, no completion mark.
    const redis = new Redis(STATE_URL);
    try {
      const base = `${prefix}lovage:index:`;
      const stale: string[] = [];
      for (const pattern of ['by-state-name:*', 'by-state-queue:*', 'pairs*']) {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}${pattern}`, 'COUNT', 1000);
          cursor = next;
          stale.push(...keys);
        } while (cursor !== '0');
      }
      expect(stale.length).toBeGreaterThan(0);
      await redis.del(...stale);
      const fresh = new TaskIndex(STATE_URL, { prefix });
      try {
        await fresh.trim();
        expect(await redis.get(`${base}pairs`)).toBe('complete');
        const page = await fresh.list({ state: 'FAILURE', name: 'proj.t2' }, { offset: 0, limit: 100 });
        expect(ids(page.items)).toEqual(
          newestFirst(all.filter((s) => s.state === 'FAILURE' && s.name === 'proj.t2')),
        );
        expect(await redis.exists(`${base}by-state-name:FAILURE\x1fproj.t2`)).toBe(1);
      } finally {
        await fresh.close();
      }
    } finally {
      redis.disconnect();
    }
  });

  it('reports counts per state, task names and queues', async () => {
    const { index } = await seeded();
    expect(await index.counts()).toEqual({ RECEIVED: 10, STARTED: 10, SUCCESS: 10, FAILURE: 10 });
    expect(await index.taskNames()).toEqual(['proj.t0', 'proj.t1', 'proj.t2']);
    expect(await index.queues()).toEqual(['fast', 'slow']);
  });
});

describe('TaskIndex.histogram', () => {
  it('counts the tasks of each state whose latest event fell in each bucket', async () => {
    const { index, all } = await seeded();
    // Buckets of 10 s from T0: task i finished (or was last heard of) at T0 + i.
    const buckets = await index.histogram(['SUCCESS', 'FAILURE'], {
      from: ms(0),
      to: ms(40),
      bucketMs: 10_000,
    });
    const expected = [0, 1, 2, 3].map((b) => {
      const inBucket = all.filter((t) => t.at >= b * 10 && t.at < (b + 1) * 10);
      return {
        at: ms(b * 10),
        counts: {
          SUCCESS: inBucket.filter((t) => t.state === 'SUCCESS').length,
          FAILURE: inBucket.filter((t) => t.state === 'FAILURE').length,
        },
      };
    });
    expect(buckets).toEqual(expected);
    // Every finished task counted once: the buckets split the range without overlap.
    const total = buckets.reduce((n, b) => n + b.counts.SUCCESS! + b.counts.FAILURE!, 0);
    expect(total).toBe(20);
    expect(await index.histogram(['SUCCESS'], { from: ms(40), to: ms(0), bucketMs: 1000 })).toEqual([]);
  });

  it('counts only the tasks of a name, worker and queue when asked', async () => {
    const { index, all } = await seeded();
    const filter = { name: 'proj.t1', worker: 'w1@test', queue: 'fast' };
    const buckets = await index.histogram(
      ['SUCCESS', 'FAILURE'],
      { from: ms(0), to: ms(40), bucketMs: 20_000 },
      filter,
    );
    const mine = all.filter(
      (t) => t.name === filter.name && t.worker === filter.worker && t.queue === filter.queue,
    );
    const expected = [0, 1].map((b) => {
      const inBucket = mine.filter((t) => t.at >= b * 20 && t.at < (b + 1) * 20);
      return {
        at: ms(b * 20),
        counts: {
          SUCCESS: inBucket.filter((t) => t.state === 'SUCCESS').length,
          FAILURE: inBucket.filter((t) => t.state === 'FAILURE').length,
        },
      };
    });
    expect(buckets).toEqual(expected);
    expect(expected.some((b) => b.counts.SUCCESS + b.counts.FAILURE > 0)).toBe(true);
    const unknown = await index.histogram(
      ['SUCCESS'],
      { from: ms(0), to: ms(40), bucketMs: 40_000 },
      { queue: 'none' },
    );
    expect(unknown).toEqual([{ at: ms(0), counts: { SUCCESS: 0 } }]);
  });
});

describe('TaskIndex.children', () => {
  it('lists the tasks whose parent is the task, newest first', async () => {
    const index = newIndex();
    await index.apply([
      received('parent', 1),
      ev('task-succeeded', 'parent', 2, { result: 'None', runtime: 1 }),
      received('child-1', 3, { parent_id: 'parent', root_id: 'parent' }),
      // A retry sent by the console: a new task linked to the old one.
      ev(
        'task-sent',
        'child-2',
        4,
        { name: 'proj.add', parent_id: 'parent', root_id: 'parent', queue: 'q' },
        'console',
      ),
      received('grandchild', 5, { parent_id: 'child-1', root_id: 'parent' }),
      received('other', 6),
    ]);
    const children = await index.children('parent');
    expect(ids(children)).toEqual(['child-2', 'child-1']);
    expect(children[1]).toMatchObject({ parentId: 'parent', rootId: 'parent' });
    expect(ids(await index.children('child-1'))).toEqual(['grandchild']);
    expect(await index.children('other')).toEqual([]);
  });
});

describe('TaskIndex.workflow and groupMembers', () => {
  /** chain(a, group(b1, b2), c) as Celery sends it: every task rooted at a; b's and c's parents are the step before. */
  const canvas = () => [
    received('a', 1, { root_id: 'a' }),
    ev('task-succeeded', 'a', 2, { result: '1', runtime: 1 }),
    // The group comes from Lovage's task-sent for one member and task-received for the other.
    ev('task-sent', 'b1', 3, { name: 'proj.b', parent_id: 'a', root_id: 'a', group: 'g', queue: 'q' }, 'c'),
    received('b2', 4, { parent_id: 'a', root_id: 'a', group: 'g' }),
    ev('task-failed', 'b2', 5, { exception: 'E()', traceback: 'tb' }),
    received('c', 6, { parent_id: 'b2', root_id: 'a' }),
    received('elsewhere', 7, { root_id: 'other', group: 'h' }),
  ];

  it('lists the tasks of a workflow and the members of a group, bounded, with their totals', async () => {
    const index = newIndex();
    await index.apply(canvas());
    const all = await index.workflow('a', 100);
    // Least recently updated first; not the root itself (it is get('a')).
    expect(all.total).toBe(3);
    expect(ids(all.items)).toEqual(['b1', 'b2', 'c']);
    expect(await index.workflow('a', 2)).toMatchObject({ total: 3, items: [{ id: 'b1' }, { id: 'b2' }] });
    expect(await index.workflow('a', 0)).toEqual({ total: 3, items: [] });
    const g = await index.groupMembers('g', 100);
    expect(g.total).toBe(2);
    expect(g.items.map((r) => [r.id, r.group, r.state])).toEqual([
      ['b1', 'g', 'PENDING'],
      ['b2', 'g', 'FAILURE'],
    ]);
    expect((await index.get('a'))!.group).toBeNull();
    expect(await index.groupMembers('nope', 100)).toEqual({ total: 0, items: [] });
  });

  it('keeps the group and root a task was first filed under, and follows its updates', async () => {
    const index = newIndex();
    await index.apply(canvas());
    // A later event naming another group or root changes neither (they are sticky like parent_id).
    await index.apply([received('b1', 8, { parent_id: 'a', root_id: 'z', group: 'other' })]);
    expect(await index.get('b1')).toMatchObject({ group: 'g', rootId: 'a', state: 'RECEIVED' });
    expect((await index.groupMembers('other', 10)).total).toBe(0);
    expect((await index.workflow('z', 10)).total).toBe(0);
    // Rescored with the task: b1, updated last, is now last.
    expect(ids((await index.workflow('a', 10)).items)).toEqual(['b2', 'c', 'b1']);
    expect(ids((await index.groupMembers('g', 10)).items)).toEqual(['b2', 'b1']);
  });

  it('trims tasks out of their workflow and group', async () => {
    const index = newIndex({ maxTasks: 2 });
    await index.apply(canvas());
    expect(await index.trim()).toBe(3);
    expect(await index.workflow('a', 10)).toEqual({
      total: 1,
      items: [expect.objectContaining({ id: 'c' })],
    });
    expect((await index.groupMembers('g', 10)).total).toBe(0);
    expect((await index.groupMembers('h', 10)).total).toBe(1);
  });
});

describe('TaskIndex.workers', () => {
  const hb = (host: string, ageSeconds: number, fields: Record<string, unknown> = {}) =>
    makeEvent('worker-heartbeat', eventCommon(host, 1), {
      freq: 2,
      active: 2,
      processed: 10,
      loadavg: [0.5, 0.25, 0.1],
      sw_ident: 'py-celery',
      sw_ver: '5.2.6',
      sw_sys: 'Linux',
      timestamp: Date.now() / 1000 - ageSeconds,
      ...fields,
    });

  it('is alive within 2 x freq of its last heartbeat and not after going offline', async () => {
    const index = newIndex();
    await index.apply([
      hb('fresh@test', 1, { lovage: { pool: 'threads' } }),
      hb('stale@test', 5),
      hb('slow@test', 5, { freq: 5 }),
      hb('gone@test', 3),
      { ...hb('gone@test', 2), type: 'worker-offline' } as CeleryEvent,
    ]);
    // A heartbeat older than the offline event arrives late: still offline.
    await index.apply([hb('gone@test', 2.5)]);
    const workers = Object.fromEntries((await index.workers()).map((w) => [w.hostname, w]));
    expect(Object.keys(workers)).toEqual(['fresh@test', 'gone@test', 'slow@test', 'stale@test']);
    expect(workers['fresh@test']).toMatchObject({
      alive: true,
      freq: 2,
      active: 2,
      processed: 10,
      loadavg: [0.5, 0.25, 0.1],
      swIdent: 'py-celery',
      swVer: '5.2.6',
      pid: process.pid,
      extra: { lovage: { pool: 'threads' } },
    });
    expect(Math.abs(workers['fresh@test']!.lastHeartbeat! - (Date.now() - 1000))).toBeLessThan(2000);
    expect(workers['stale@test']!.alive).toBe(false);
    expect(workers['slow@test']!.alive).toBe(true);
    expect(workers['gone@test']!.alive).toBe(false);
    expect(workers['stale@test']!.extra).toEqual({});

    // Back online.
    await index.apply([{ ...hb('gone@test', 0), type: 'worker-online' } as CeleryEvent]);
    expect((await index.workers()).find((w) => w.hostname === 'gone@test')!.alive).toBe(true);
  });
});

describe('TaskIndex.subscribe', () => {
  it('announces the task ids and workers each apply changed', async () => {
    const index = newIndex();
    const changes: { ids: string[]; workers: string[] }[] = [];
    const unsubscribe = await index.subscribe((c) => changes.push(c));
    await index.apply([received('a', 1), received('b', 1)]);
    await index.apply([
      ev('worker-online', '', 1, { freq: 2, active: 0, processed: 0, loadavg: [] }, 'w9@test'),
    ]);
    await index.apply([received('a', 1)]); // nothing new
    await waitFor(() => changes.length >= 2, { what: 'two changes' });
    await new Promise((r) => setTimeout(r, 100));
    expect(changes).toEqual([
      { ids: ['a', 'b'], workers: [] },
      { ids: [], workers: ['w9@test'] },
    ]);
    await unsubscribe();
    await index.apply([received('c', 1)]);
    await new Promise((r) => setTimeout(r, 100));
    expect(changes).toHaveLength(2);
  });
});

describe('TaskIndex.trim', () => {
  it('keeps the maxTasks most recently updated and removes the rest from every index', async () => {
    const index = newIndex({ maxTasks: 10 });
    const all = specs();
    await index.apply(all.flatMap(eventsOf));
    // One task with a name of its own, old enough to go: its name must leave taskNames().
    await index.apply([received('lonely', -10, { name: 'proj.lonely', queue: 'rare', parent_id: 't39' })]);
    expect(await index.taskNames()).toContain('proj.lonely');
    expect(await index.trim()).toBe(31);
    const kept = all.filter((s) => s.at >= 30);
    expect(ids((await index.list({}, { offset: 0, limit: 100 })).items)).toEqual(newestFirst(kept));
    const counts = await index.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(10);
    expect(counts).toEqual({ RECEIVED: 2, STARTED: 2, SUCCESS: 3, FAILURE: 3 });
    expect(await index.taskNames()).toEqual(['proj.t0', 'proj.t1', 'proj.t2']);
    expect(await index.queues()).toEqual(['fast', 'slow']);
    for (const name of ['proj.t0', 'proj.t1', 'proj.t2']) {
      const page = await index.list({ name }, { offset: 0, limit: 100 });
      expect(page.total).toBe(kept.filter((s) => s.name === name).length);
      expect(page.items).toHaveLength(page.total);
    }
    expect((await index.list({ worker: 'w0@test' }, { offset: 0, limit: 100 })).total).toBe(5);
    expect(await index.children('t39')).toEqual([]);
    expect(await index.get('t00')).toBeNull();
    expect(await index.trim()).toBe(0);
  });

  it('removes tasks and workers not updated within maxAgeSeconds', async () => {
    const index = newIndex({ maxAgeSeconds: 3600 });
    const now = Date.now() / 1000;
    const at = (secondsAgo: number) => now - secondsAgo - T0;
    await index.apply([
      received('old', at(7200)),
      ev('task-succeeded', 'old', at(7100), { result: '1', runtime: 1 }),
      received('recent', at(60)),
      ev('worker-heartbeat', '', at(7200), { freq: 2, active: 0, processed: 0, loadavg: [] }, 'old@test'),
      ev('worker-heartbeat', '', at(1), { freq: 2, active: 0, processed: 0, loadavg: [] }, 'new@test'),
    ]);
    expect(await index.trim()).toBe(1);
    expect(await index.get('old')).toBeNull();
    expect(await index.get('recent')).not.toBeNull();
    expect(await index.counts()).toEqual({ RECEIVED: 1 });
    expect((await index.workers()).map((w) => w.hostname)).toEqual(['new@test']);
  });
});
