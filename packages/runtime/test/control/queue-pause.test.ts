/**
 * Pausing a queue for every worker: the workers consuming it stop, a worker started while it is paused leaves
 * it out, and resuming makes exactly those workers consume it again; nothing sent meanwhile is lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { pauseQueue, resumeQueue } from '../../src';
import { useTestApps, waitFor } from '../helpers';

describe('pausing a queue', () => {
  const createTestApp = useTestApps();

  it('stops its consumers, keeps later workers off it, and resume brings both back; nothing is lost', async () => {
    const t = createTestApp();
    const { app } = t;
    app.task('pause.add', (_ctx, a: number, b: number) => a + b);
    const other = `${t.queue}-other`;
    const first = await t.startWorker({ queues: [t.queue, other], hostname: `first-${t.queue}@test` });

    const paused = await pauseQueue(app, t.queue, { by: 'ops@example.com', reason: 'deploy' });
    expect(paused.previous).toBeNull();
    expect(paused.pause).toMatchObject({ queue: t.queue, by: 'ops@example.com', reason: 'deploy' });
    expect(paused.pause.workers).toEqual([first.hostname]);
    expect(paused.replies).toContainEqual({
      [first.hostname]: { ok: `no longer consuming from ${t.queue}` },
    });
    expect(first.queues).toEqual([other]);

    // A worker started now leaves the paused queue out; its only queue: it idles.
    const second = await t.startWorker({ queues: [t.queue], hostname: `second-${t.queue}@test` });
    expect(second.queues).toEqual([]);

    const held = await app.sendTask('pause.add', [1, 2], {}, { queue: t.queue });
    const served = await app.sendTask('pause.add', [3, 4], {}, { queue: other });
    expect(await served.get({ timeout: 10 })).toBe(7);
    await sleep(500);
    expect(await held.state()).toBe('PENDING');
    expect(await app.state.queues.paused()).toEqual([paused.pause]);

    const resumed = await resumeQueue(app, t.queue);
    expect(resumed?.workers).toEqual([first.hostname, second.hostname].sort());
    expect(await held.get({ timeout: 10 })).toBe(3);
    await waitFor(() => first.queues.includes(t.queue) && second.queues.includes(t.queue), {
      what: 'both workers consume the queue again',
    });
    expect(await app.state.queues.paused()).toEqual([]);
    // Resuming a queue that is not paused changes nothing.
    expect(await resumeQueue(app, t.queue)).toBeNull();
  });

  it('a worker whose only queue is paused idles, and one that never consumed it is not told to', async () => {
    const t = createTestApp();
    const { app } = t;
    app.task('pause.add', (_ctx, a: number, b: number) => a + b);
    const elsewhere = `${t.queue}-elsewhere`;
    const only = await t.startWorker({ queues: [t.queue], hostname: `only-${t.queue}@test` });
    const bystander = await t.startWorker({ queues: [elsewhere], hostname: `by-${t.queue}@test` });

    await pauseQueue(app, t.queue, { by: 'ops', reason: 'incident' });
    expect(only.queues).toEqual([]);
    const held = await app.sendTask('pause.add', [2, 2], {}, { queue: t.queue });
    await sleep(800);
    expect(await held.state()).toBe('PENDING');

    // Pausing again keeps who it stopped, with the new reason.
    const again = await pauseQueue(app, t.queue, { by: 'ops2', reason: 'still down' });
    expect(again.previous).toMatchObject({ by: 'ops', reason: 'incident' });
    expect(again.pause.workers).toEqual([only.hostname]);

    const resumed = await resumeQueue(app, t.queue);
    expect(resumed?.workers).toEqual([only.hostname]);
    expect(await held.get({ timeout: 10 })).toBe(4);
    expect(bystander.queues).toEqual([elsewhere]);
  });

  it('refuses an empty queue name', async () => {
    const { app } = createTestApp();
    await expect(pauseQueue(app, '  ', { by: 'ops', reason: 'x' })).rejects.toThrow(/queue: a queue name/);
    expect(await app.state.queues.paused()).toEqual([]);
  });
});
