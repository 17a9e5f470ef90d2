/**
 * Events (shared/celery-protocol.md, the `celeryev` exchange) across implementations, on one broker
 * (events-interop.redis.test.ts, events-interop.amqp.test.ts):
 *
 * - a real Celery 5.2.6 worker started with -E (tasks from ./py/pytasks.py) sends its events; a Lovage
 *   Monitor folds them into a TaskIndex: a success and a failure with their states, result or exception and
 *   the worker's hostname, and the worker listed (alive, then offline after it stops);
 * - a Lovage worker with task events sends them, batched as `task.multi`; Celery's own event receiver (what
 *   `celery events` and flower run, ./py/events_receiver.py) reads every one.
 *
 * Isolation (./interop-target.ts): a key prefix or a vhost per file, the TaskIndex under the file's own
 * prefix, unique queues and hostnames. Every Python process is killed in afterAll, also when a test fails.
 */
import { type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeEvent,
  EVENT_EXCHANGE,
  Monitor,
  TaskIndex,
  taskSentEvent,
  Worker,
  type AsyncResult,
} from '../../src';
import { TEST_REDIS_URL } from '../../src/testing/test-broker';
import { waitFor } from '../helpers';
import { exited, startCeleryWorker, startPyJson, type InteropKind, uniq, useInterop } from './interop-target';

export function describeEventsInterop(kind: InteropKind): void {
  const { target, app, taskIds, queues } = useInterop(kind, 'events');
  const QUEUE = uniq('events');
  const HOSTNAME = `${uniq('celery-events')}@localhost`;
  queues.add(QUEUE);

  const index = new TaskIndex(TEST_REDIS_URL, { prefix: target.filePrefix });
  const monitor = new Monitor({ broker: app.broker, index }, { wakeWorkers: false });
  let worker: ChildProcess | null = null;

  app.task('ev.add', (_ctx, a: number, b: number) => a + b);
  app.task('ev.fail', (_ctx, message: string) => {
    throw new RangeError(message);
  });

  /** Sends a task and announces it with task-sent, as a Celery client would. */
  async function send(name: string, args: unknown[], queue = QUEUE, taskId?: string): Promise<AsyncResult> {
    const r = await app.sendTask(name, args, {}, { queue, taskId });
    taskIds.add(r.id);
    const sent = taskSentEvent({ id: r.id, name, args, kwargs: {}, queue, hostname: app.origin });
    await app.broker.broadcast(EVENT_EXCHANGE, 'task.sent', encodeEvent(sent));
    return r;
  }

  beforeAll(async () => {
    await monitor.start();
    const py = startCeleryWorker(target, {
      module: 'pytasks',
      hostname: HOSTNAME,
      queues: [QUEUE],
      events: true,
    });
    worker = py.proc;
    await Promise.race([
      waitFor(async () => (await index.workers()).some((w) => w.hostname === HOSTNAME), {
        timeoutMs: 25_000,
        what: `worker-online from ${HOSTNAME}`,
      }),
      py.died(),
    ]);
  }, 40_000);

  afterAll(async () => {
    await monitor.stop();
    await index.close();
  });

  describe('Celery 5.2.6 worker -E -> Lovage Monitor -> TaskIndex', () => {
    /** The task's row once the index shows it in `state`. */
    const indexed = (id: string, state: string) =>
      waitFor(
        async () => {
          const r = await index.get(id);
          return r?.state === state && r;
        },
        { timeoutMs: 10_000, what: `${state} of ${id} in the index` },
      );

    it('shows a success and a failure with their results, exception and worker', async () => {
      const ok = await send('py.add', [2, 3]);
      const bad = await send('py.fail', ['boom']);
      expect(await ok.get({ timeout: 20 })).toBe(5);
      await expect(bad.get({ timeout: 20 })).rejects.toThrow();

      const success = await indexed(ok.id, 'SUCCESS');
      expect(success).toMatchObject({
        name: 'py.add',
        args: '(2, 3)',
        kwargs: '{}',
        result: '5',
        worker: HOSTNAME,
        queue: QUEUE,
        retries: 0,
        rootId: ok.id,
        parentId: null,
      });
      expect(success.runtime).toBeGreaterThanOrEqual(0);
      expect(success.timestamps).toEqual({
        sent: expect.any(Number),
        received: expect.any(Number),
        started: expect.any(Number),
        succeeded: expect.any(Number),
      });
      expect(Math.abs(success.updatedAt - Date.now())).toBeLessThan(60_000);

      const failure = await indexed(bad.id, 'FAILURE');
      expect(failure).toMatchObject({
        name: 'py.fail',
        args: "('boom',)",
        exception: "ValueError('boom')",
        worker: HOSTNAME,
        queue: QUEUE,
      });
      expect(failure.traceback).toContain('ValueError: boom');

      expect((await index.list({ worker: HOSTNAME }, { offset: 0, limit: 10 })).total).toBe(2);
      expect(await index.counts()).toEqual({ SUCCESS: 1, FAILURE: 1 });
      expect(await index.taskNames()).toEqual(['py.add', 'py.fail']);
    });

    it('lists the Celery worker: alive with Celery figures, then offline after it stops', async () => {
      const w = (await index.workers()).find((x) => x.hostname === HOSTNAME)!;
      expect(w).toMatchObject({ alive: true, swIdent: 'py-celery', swVer: '5.2.6', freq: 2, extra: {} });
      expect(w.pid).toBeGreaterThan(0);
      expect(w.loadavg).toHaveLength(3);
      expect(Math.abs(w.lastHeartbeat! - Date.now())).toBeLessThan(10_000);
      await waitFor(
        async () => ((await index.workers()).find((x) => x.hostname === HOSTNAME)?.processed ?? 0) >= 2,
        { timeoutMs: 10_000, what: 'a heartbeat counting the two tasks' },
      );

      worker!.kill('SIGTERM');
      await exited(worker!);
      await waitFor(
        async () => (await index.workers()).find((x) => x.hostname === HOSTNAME)?.alive === false,
        { timeoutMs: 10_000, what: 'worker-offline' },
      );
    });
  });

  describe('Lovage worker (task events) -> Celery 5.2.6 event receiver', () => {
    type PyEvent = Record<string, unknown> & { type: string; hostname?: string; uuid?: string };

    it('Celery reads every task event of a Lovage worker, sent as task.multi, and its worker-online', async () => {
      const queue = uniq('lovage-events');
      queues.add(queue);
      const hostname = `${uniq('lovage')}@localhost`;
      const ids = { ok: randomUUID(), bad: randomUUID() };
      const until = [
        { type: 'task-succeeded', uuid: ids.ok },
        { type: 'task-failed', uuid: ids.bad },
        { type: 'worker-offline', hostname },
      ];
      const receiver = startPyJson<{ events: PyEvent[]; routing_keys: string[] }>(target, [
        'events_receiver.py',
        JSON.stringify({ until, timeout: 10 }),
      ]);
      await receiver.ready;
      const w = new Worker(app, { queues: [queue], concurrency: 2, hostname, taskEvents: true });
      await w.start();
      try {
        const ok = await send('ev.add', [2, 3], queue, ids.ok);
        const bad = await send('ev.fail', ['out of range'], queue, ids.bad);
        expect(await ok.get({ timeout: 10 })).toBe(5);
        await expect(bad.get({ timeout: 10 })).rejects.toMatchObject({ name: 'RangeError' });
      } finally {
        await w.stop();
      }
      const { events, routing_keys: keys } = await receiver.result;

      const of = (id: string) =>
        events.filter((e) => e.uuid === id && e.type !== 'task-sent').map((e) => e.type);
      expect(of(ids.ok)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(of(ids.bad)).toEqual(['task-received', 'task-started', 'task-failed']);
      const succeeded = events.find((e) => e.uuid === ids.ok && e.type === 'task-succeeded')!;
      expect(succeeded).toMatchObject({ hostname, result: '5' });
      expect(succeeded.runtime).toEqual(expect.any(Number));
      const failed = events.find((e) => e.uuid === ids.bad && e.type === 'task-failed')!;
      expect(failed).toMatchObject({ hostname });
      expect(failed.exception).toContain('out of range');
      const received = events.find((e) => e.uuid === ids.ok && e.type === 'task-received')!;
      expect(received).toMatchObject({ name: 'ev.add', args: '(2, 3)' });
      // The worker's task events travel as task.multi batches (the routing key of each message).
      expect(keys).toContain('task.multi');
      expect(keys).not.toContain('task.succeeded');
      const online = events.find((e) => e.type === 'worker-online' && e.hostname === hostname);
      expect(online).toMatchObject({ sw_sys: expect.any(String), freq: expect.any(Number) });
      expect(events.some((e) => e.type === 'worker-offline' && e.hostname === hostname)).toBe(true);
    });
  });
}
