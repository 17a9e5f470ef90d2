/**
 * A task no worker ran shows where it went instead of staying PENDING for ever: REJECTED with the reason
 * and its dead letter (the worker's task-rejected event, folded by a real monitor), or purged with its
 * queue, by whom and when (the console records the purge in the task index).
 */
import { randomUUID } from 'node:crypto';
import { Monitor } from '@lovage/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startHarness,
  startWorkerSide,
  type Harness,
  type TestUser,
  type WorkerSide,
} from './support/harness';
import { until } from './support/until';

describe('task fates', () => {
  let h: Harness;
  let operator: TestUser;
  let side: WorkerSide;
  let monitor: Monitor;
  const queue = `fate-${randomUUID()}`;
  const idle = `fate-idle-${randomUUID()}`;

  beforeAll(async () => {
    h = await startHarness('pglite');
    operator = await h.createUser('operator');
    side = await startWorkerSide(h, { queues: [queue], concurrency: 1, taskEvents: true });
    monitor = new Monitor(side.app, { wakeWorkers: false });
    await monitor.start();
  });
  afterAll(async () => {
    await monitor?.stop();
    await side?.close();
    await h?.close();
  });

  async function taskInState(id: string, state: string) {
    const c = await h.callerFor(operator);
    return until(`task ${id} ${state}`, async () => {
      const t = await c.tasks.get({ id }).catch(() => undefined);
      return t?.state === state ? t : undefined;
    });
  }

  it('a task for an unknown name is REJECTED with the reason and a link to its dead letter', async () => {
    const { app } = h.services.lovage;
    const id = (await app.sendTask('no.such.fate', [1], {}, { queue })).id;
    const task = await taskInState(id, 'REJECTED');
    const [letter] = (await (await h.callerFor(operator)).deadLetters.find({ queue })).items;
    expect(letter?.taskId).toBe(id);
    expect(task.fate).toEqual({
      kind: 'rejected',
      reason: 'unregistered task "no.such.fate"',
      deadLetter: { queue, id: letter!.id },
    });
  });

  it('a PENDING task whose queue is purged shows who purged it and when; later tasks do not', async () => {
    const c = await h.callerFor(operator);
    const { app } = h.services.lovage;
    const before = (await app.sendTask('demo.waits', [1], {}, { queue: idle })).id;
    expect((await taskInState(before, 'PENDING')).fate).toBeNull();
    const start = Date.now();
    expect(await c.queues.purge({ queue: idle, confirm: idle })).toMatchObject({ purged: 1 });
    const after = (await app.sendTask('demo.waits', [2], {}, { queue: idle })).id;

    const purged = await c.tasks.get({ id: before });
    expect(purged.state).toBe('PENDING');
    expect(purged.fate).toMatchObject({ kind: 'purged', queue: idle, by: operator.email });
    const fate = purged.fate as { at: number };
    expect(fate.at).toBeGreaterThanOrEqual(start);
    expect((await taskInState(after, 'PENDING')).fate).toBeNull();
  });

  it('purging an empty queue records nothing', async () => {
    const c = await h.callerFor(operator);
    const empty = `fate-empty-${randomUUID()}`;
    const { app } = h.services.lovage;
    const id = (await app.sendTask('demo.waits', [3], {}, { queue: empty })).id;
    await taskInState(id, 'PENDING');
    // A worker took it (nothing is waiting) without reporting: the purge is not its fate.
    await app.broker.purge(empty);
    expect(await c.queues.purge({ queue: empty, confirm: empty })).toMatchObject({ purged: 0 });
    expect((await c.tasks.get({ id })).fate).toBeNull();
  });
});
