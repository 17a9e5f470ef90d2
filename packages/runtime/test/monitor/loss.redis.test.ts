/**
 * Losing events, on purpose: the monitor's subscriber connection killed in Redis (CLIENT KILL ID of that
 * very connection, found by its local port in CLIENT LIST), and events dropped in-process past
 * `maxPendingBytes`. Each loss is logged as a warning with counts, and the index is repaired from the result
 * backend: tasks it holds unfinished whose result is final, and tasks it never saw whose result came during
 * the loss. Real Redis; keys under a unique prefix, results deleted by id.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeEvents,
  createResultBackend,
  EVENT_EXCHANGE,
  eventCommon,
  makeEvent,
  Monitor,
  TaskIndex,
  toNaiveUtcIso,
  type TaskEventType,
} from '../../src';
import { RedisBroker } from '../../src/adapters/redis';
import { BACKEND_URL, REDIS_URL, deleteMatching, deleteResults, uniquePrefix, waitFor } from '../helpers';

interface Line {
  level: number;
  msg: string;
  [k: string]: unknown;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A monitor on a private prefix, repairing from the backend, logging into `lines`. */
async function setUp(opts: { maxPendingBytes?: number } = {}) {
  const prefix = uniquePrefix();
  const broker = new RedisBroker(REDIS_URL, { globalKeyprefix: prefix });
  const index = new TaskIndex(REDIS_URL, { prefix });
  const backend = new Redis(BACKEND_URL);
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const results = createResultBackend(BACKEND_URL);
  const monitor = new Monitor(
    { broker, index },
    { logger, wakeWorkers: false, resultBackend: results, repairDelayMs: 50, ...opts },
  );
  const ids: string[] = [];
  cleanups.push(async () => {
    await monitor.stop();
    await results.close();
    await index.close();
    await broker.close();
    await deleteResults(ids);
    backend.disconnect();
    await deleteMatching(REDIS_URL, `${prefix}*`);
  });
  await monitor.start();
  let clock = 0;
  return {
    broker,
    index,
    monitor,
    lines,
    newId() {
      const id = randomUUID();
      ids.push(id);
      return id;
    },
    async send(...events: [TaskEventType, string, Record<string, unknown>?][]) {
      const batch = events.map(([type, uuid, fields]) =>
        makeEvent(type, eventCommon('loss@test', ++clock), { uuid, ...fields }),
      );
      await broker.broadcast(EVENT_EXCHANGE, 'task.multi', encodeEvents(batch));
    },
    /** What a worker stores when a task ends. */
    async storeResult(id: string, status: string, result: unknown, traceback: string | null = null) {
      const meta = {
        status,
        result,
        traceback,
        children: [],
        date_done: toNaiveUtcIso(new Date()),
        task_id: id,
      };
      await backend.set(`celery-task-meta-${id}`, JSON.stringify(meta), 'EX', 600);
    },
  };
}

describe('a monitor that loses events', () => {
  it('says so when its subscriber connection is cut, and repairs the index from the result backend', async () => {
    const m = await setUp();
    const [done, failed, unseen] = [m.newId(), m.newId(), m.newId()];
    await m.send(
      ['task-received', done, { name: 'loss.a' }],
      ['task-started', failed],
      ['task-received', failed],
    );
    await waitFor(
      async () => (await m.index.get(failed))?.state === 'STARTED' && (await m.index.get(done)) !== null,
      {
        what: 'the first events in the index',
      },
    );

    // The endings whose events are lost while the connection is down: only the backend knows them.
    await m.storeResult(done, 'SUCCESS', { n: 42 });
    await m.storeResult(
      failed,
      'FAILURE',
      { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' },
      'Traceback…',
    );
    await m.storeResult(unseen, 'SUCCESS', 7);

    const sub = (m.broker as unknown as { subscriber: Redis }).subscriber;
    const port = (sub as unknown as { stream: { localPort: number } }).stream.localPort;
    const admin = new Redis(REDIS_URL);
    try {
      const list = await admin.client('LIST');
      const line = String(list)
        .split('\n')
        .find((l) => new RegExp(`addr=[^ ]*:${port} `).test(l));
      expect(line, 'the subscriber connection in CLIENT LIST').toBeDefined();
      expect(line).toMatch(/name=lovage:broker-sub /);
      const id = /\bid=(\d+)/.exec(line!)![1]!;
      await admin.client('KILL', 'ID', id);
    } finally {
      admin.disconnect();
    }

    await waitFor(() => m.monitor.stats.repairs === 1, { what: 'a repair', timeoutMs: 10_000 });
    const cut = m.lines.find((l) => /EVENTS LOST: the event subscription was cut/.test(l.msg));
    expect(cut?.level).toBe(40);
    expect(cut?.subscriberCuts).toBe(1);
    const repaired = m.lines.find((l) => /repaired the task index from the result backend/.test(l.msg));
    expect(repaired).toMatchObject({ level: 40, repaired: 2, subscriberCuts: 1 });

    const [a, b, c] = await Promise.all([m.index.get(done), m.index.get(failed), m.index.get(unseen)]);
    expect(a).toMatchObject({ state: 'SUCCESS', result: "{'n': 42}", name: 'loss.a' });
    expect(b).toMatchObject({ state: 'FAILURE', exception: "ValueError('boom')", traceback: 'Traceback…' });
    expect(c).toMatchObject({ state: 'SUCCESS', result: '7' });
    expect(m.monitor.stats).toMatchObject({ subscriberCuts: 1, repaired: 2 });
    expect(m.monitor.stats.repairAdded).toBeGreaterThanOrEqual(1);

    // Subscribed again: new events are folded as before.
    const later = m.newId();
    await m.send(['task-received', later]);
    await waitFor(async () => (await m.index.get(later))?.state === 'RECEIVED', {
      what: 'an event after the cut',
    });
  });

  it('drops the oldest events past maxPendingBytes with a warning, then repairs what they were about', async () => {
    // Smaller than one message: everything received is dropped, the worst case.
    const m = await setUp({ maxPendingBytes: 1 });
    const id = m.newId();
    await m.storeResult(id, 'SUCCESS', 'fine');
    await m.send(['task-received', id, { name: 'loss.b' }], ['task-succeeded', id, { result: "'fine'" }]);

    await waitFor(() => m.monitor.stats.repairs === 1, { what: 'a repair', timeoutMs: 10_000 });
    const warning = m.lines.find((l) =>
      /EVENTS LOST: more events are waiting than maxPendingBytes/.test(l.msg),
    );
    expect(warning).toMatchObject({ level: 40, dropped: 2 });
    expect(m.monitor.stats.dropped).toBe(2);
    expect(await m.index.get(id)).toMatchObject({ state: 'SUCCESS', result: "'fine'" });
  });
});
