/**
 * The fold (TaskIndex.apply): Celery's state precedence with events in any order, retries that go round
 * again, idempotency, and several monitors applying the same events at once without double counting.
 */
import { describe, expect, it } from 'vitest';
import { MAX_REPR, MAX_TRACEBACK, TaskIndex, type CeleryEvent, type TaskRecord } from '../../src';
import { STATE_URL } from '../helpers';
import { ev, permutations, received, shuffled, T0, useIndexes } from './helpers';

const newIndex = useIndexes();
const ms = (at: number) => Math.round((T0 + at) * 1000);
const withoutId = ({ id: _id, rootId: _root, ...rest }: TaskRecord) => rest;

function lifecycle(id: string): CeleryEvent[] {
  return [
    ev(
      'task-sent',
      id,
      0,
      {
        name: 'proj.add',
        args: '(2, 3)',
        kwargs: '{}',
        retries: 0,
        queue: 'emails',
        root_id: id,
        parent_id: null,
      },
      'gen1@client',
    ),
    received(id, 1),
    ev('task-started', id, 2),
    ev('task-succeeded', id, 3, { result: '5', runtime: 0.25 }),
  ];
}

describe('TaskIndex.apply: state precedence', () => {
  it('reaches the same record whatever order the events of a task arrive in', async () => {
    const index = newIndex();
    await index.apply(lifecycle('inorder'));
    const expected = (await index.get('inorder'))!;
    expect(expected).toMatchObject({
      state: 'SUCCESS',
      name: 'proj.add',
      args: '(2, 3)',
      kwargs: '{}',
      result: '5',
      runtime: 0.25,
      worker: 'w1@test',
      queue: 'emails',
      retries: 0,
      parentId: null,
      rootId: 'inorder',
      timestamps: { sent: ms(0), received: ms(1), started: ms(2), succeeded: ms(3) },
      updatedAt: ms(3),
    });
    const orders = permutations([0, 1, 2, 3]);
    for (const [n, order] of orders.entries()) {
      const id = `perm-${n}`;
      const events = lifecycle(id);
      for (const i of order) await index.apply([events[i]!]);
      expect(withoutId((await index.get(id))!), `order ${order.join(',')}`).toEqual(withoutId(expected));
    }
    expect(await index.counts()).toEqual({ SUCCESS: orders.length + 1 });
  });

  it('never lets a late task-received or task-started overwrite SUCCESS or FAILURE', async () => {
    const index = newIndex();
    await index.apply([ev('task-succeeded', 's', 3, { result: '1', runtime: 1 })]);
    await index.apply([ev('task-started', 's', 2, {}, 'w2@test'), received('s', 1, {}, 'w2@test')]);
    expect(await index.get('s')).toMatchObject({ state: 'SUCCESS', name: 'proj.add', worker: 'w1@test' });

    await index.apply([
      ev('task-failed', 'f', 3, { exception: "ValueError('boom')", traceback: 'Traceback…' }),
    ]);
    await index.apply([received('f', 1), ev('task-started', 'f', 2)]);
    expect(await index.get('f')).toMatchObject({
      state: 'FAILURE',
      exception: "ValueError('boom')",
      traceback: 'Traceback…',
      name: 'proj.add',
    });

    // Revoked before a worker got to it: the late receipt does not bring it back.
    await index.apply([ev('task-revoked', 'r', 2, { terminated: false, signum: null, expired: true })]);
    await index.apply([received('r', 1)]);
    expect(await index.get('r')).toMatchObject({ state: 'REVOKED', name: 'proj.add' });
    expect(await index.counts()).toEqual({ SUCCESS: 1, FAILURE: 1, REVOKED: 1 });
  });

  it('follows a retried task round again (same id), in any order of its events', async () => {
    const index = newIndex();
    const events = (id: string): CeleryEvent[] => [
      received(id, 1),
      ev('task-started', id, 2),
      ev('task-retried', id, 3, { exception: "Retry('again')", traceback: 'Traceback (retry)' }),
      // Celery's retry message names the task itself as parent; that must not become a parent link.
      received(id, 4, { retries: 1, parent_id: id }, 'w2@test'),
      ev('task-started', id, 5, {}, 'w2@test'),
      ev('task-succeeded', id, 6, { result: "'done'", runtime: 0.5 }, 'w2@test'),
    ];
    await index.apply(events('retry-0'));
    const expected = (await index.get('retry-0'))!;
    expect(expected).toMatchObject({
      state: 'SUCCESS',
      retries: 1,
      worker: 'w2@test',
      parentId: null,
      result: "'done'",
      exception: "Retry('again')",
      timestamps: { received: ms(4), started: ms(5), retried: ms(3), succeeded: ms(6) },
    });
    for (let seed = 1; seed <= 40; seed++) {
      const id = `retry-${seed}`;
      for (const e of shuffled(events(id), seed)) await index.apply([e]);
      expect(withoutId((await index.get(id))!), `seed ${seed}`).toEqual(withoutId(expected));
    }
    expect(await index.children('retry-1')).toEqual([]);

    // Mid-flight: the retry is the latest news until the task is received again.
    await index.apply([received('mid', 1), ev('task-retried', 'mid', 3, { exception: 'Retry()' })]);
    expect((await index.get('mid'))!.state).toBe('RETRY');
    await index.apply([ev('task-started', 'mid', 2)]);
    expect((await index.get('mid'))!.state).toBe('RETRY');
    await index.apply([received('mid', 4, { retries: 1 })]);
    expect(await index.get('mid')).toMatchObject({ state: 'RECEIVED', retries: 1 });
  });

  it('fills the queue from task-sent or from a Lovage task-received, whichever arrives', async () => {
    const index = newIndex();
    await index.apply([received('a', 1, { queue: 'reports' }), ev('task-started', 'a', 2)]);
    await index.apply([
      received('b', 1),
      ev('task-sent', 'b', 0, { name: 'proj.add', queue: 'emails' }, 'gen@c'),
    ]);
    await index.apply([received('c', 1)]);
    expect((await index.get('a'))!.queue).toBe('reports');
    expect(await index.get('b')).toMatchObject({ queue: 'emails', worker: 'w1@test', state: 'RECEIVED' });
    expect((await index.get('c'))!.queue).toBeNull();
    expect(await index.queues()).toEqual(['emails', 'reports']);
  });

  it("names the real exception when Celery's solo pool reports ExceptionWithTraceback()", async () => {
    const index = newIndex();
    const tb =
      'Traceback (most recent call last):\n  File "t.py", line 3, in fail\nproj.errors.PaymentDeclined: card 42\n';
    await index.apply([
      ev('task-failed', 'wrapped', 1, { exception: 'ExceptionWithTraceback()', traceback: tb }),
      ev('task-failed', 'plain', 1, { exception: "KeyError('k')", traceback: tb }),
    ]);
    expect((await index.get('wrapped'))!.exception).toBe("PaymentDeclined('card 42')");
    expect((await index.get('plain'))!.exception).toBe("KeyError('k')");
  });

  it('keeps reprs and tracebacks bounded', async () => {
    const index = newIndex();
    const longTb = `Traceback (most recent call last):\n${'  File "x.py", line 1\n'.repeat(5000)}ValueError: the end`;
    await index.apply([
      received('big', 1, { args: `(${'1, '.repeat(10_000)})`, kwargs: { not: 'a repr' } }),
      ev('task-failed', 'big', 2, { exception: 'E'.repeat(10_000), traceback: longTb }),
    ]);
    const rec = (await index.get('big'))!;
    expect(rec.args!.length).toBe(MAX_REPR);
    expect(rec.args!.endsWith('...')).toBe(true);
    expect(rec.kwargs).toBe("{'not': 'a repr'}");
    expect(rec.exception!.length).toBe(MAX_REPR);
    expect(rec.traceback!.length).toBe(MAX_TRACEBACK);
    expect(rec.traceback!.endsWith('ValueError: the end')).toBe(true);
  });
});

describe('TaskIndex.apply: idempotency and concurrent monitors', () => {
  function workload(n: number): CeleryEvent[] {
    const out: CeleryEvent[] = [];
    for (let i = 0; i < n; i++) {
      const id = `job-${i}`;
      out.push(received(id, i / 100, { name: `proj.t${i % 3}` }, `w${i % 2}@test`));
      out.push(ev('task-started', id, i / 100 + 0.5, {}, `w${i % 2}@test`));
      if (i % 4 === 0)
        out.push(ev('task-failed', id, i / 100 + 1, { exception: 'E()', traceback: 'tb' }, `w${i % 2}@test`));
      else if (i % 4 !== 1)
        out.push(ev('task-succeeded', id, i / 100 + 1, { result: 'None', runtime: 0.1 }, `w${i % 2}@test`));
    }
    return out;
  }

  it('applying the same events twice changes nothing and announces nothing the second time', async () => {
    const index = newIndex();
    const changes: { ids: string[]; workers: string[] }[] = [];
    const unsubscribe = await index.subscribe((c) => changes.push(c));
    const events = [
      ...workload(200),
      ev(
        'worker-heartbeat',
        '',
        0,
        {
          freq: 2,
          active: 1,
          processed: 3,
          loadavg: [0, 0, 0],
          sw_ident: 'lovage',
          sw_ver: '0.1.0',
          sw_sys: 'Linux',
        },
        'w0@test',
      ),
    ];
    await index.apply(events);
    const counts = await index.counts();
    expect(counts).toEqual({ FAILURE: 50, STARTED: 50, SUCCESS: 100 });
    const before = await index.list({}, { offset: 0, limit: 1000 });
    await index.apply(events);
    await index.apply(shuffled(events, 7));
    expect(await index.counts()).toEqual(counts);
    expect(await index.list({}, { offset: 0, limit: 1000 })).toEqual(before);
    await new Promise((r) => setTimeout(r, 200));
    expect(changes).toHaveLength(1);
    expect(changes[0]!.ids).toHaveLength(200);
    expect(changes[0]!.workers).toEqual(['w0@test']);
    await unsubscribe();
  });

  it('two monitors applying the same events at once, in different orders, count each task once', async () => {
    const a = newIndex();
    const b = new TaskIndex(STATE_URL, { prefix: a.base.replace(/lovage:index:$/, '') });
    try {
      const events = workload(1500);
      const forward = events;
      const backward = shuffled(events, 42);
      const chunks = (list: CeleryEvent[]) =>
        Array.from({ length: Math.ceil(list.length / 250) }, (_, i) => list.slice(i * 250, i * 250 + 250));
      const run = async (index: TaskIndex, list: CeleryEvent[]) => {
        for (const c of chunks(list)) await index.apply(c);
      };
      await Promise.all([run(a, forward), run(b, backward), run(a, shuffled(events, 3))]);
      expect(await a.counts()).toEqual({ FAILURE: 375, STARTED: 375, SUCCESS: 750 });
      expect((await b.list({}, { offset: 0, limit: 1 })).total).toBe(1500);
      expect((await a.list({ name: 'proj.t0' }, { offset: 0, limit: 0 })).total).toBe(500);
      expect((await a.list({ worker: 'w1@test' }, { offset: 0, limit: 0 })).total).toBe(750);
    } finally {
      await b.close();
    }
  });
});
