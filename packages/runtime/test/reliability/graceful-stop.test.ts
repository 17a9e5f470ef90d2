/**
 * Graceful stop from code: stop consuming, finish running tasks, return reserved and held ETA tasks to the
 * queue. Nothing lost, nothing run twice.
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, Worker } from '../../src/index';
import { uniq, waitFor } from './helpers';
import { BACKEND_URL, BROKER_URL, deleteMatching, STATE_URL } from '../helpers';

const prefix = `${uniq('stop')}:`;
const queue = uniq('q');
afterAll(async () => {
  await deleteMatching(STATE_URL, `${prefix}*`);
});

function makeApp(runs: Map<string, number>) {
  const app = createApp({
    broker: BROKER_URL,
    backend: BACKEND_URL,
    state: STATE_URL,
    brokerTransportOptions: { globalKeyprefix: prefix },
    logger: pino({ level: 'silent' }),
  });
  app.task(
    'stop.late',
    async (ctx) => {
      runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20_000));
    },
    { acksLate: true },
  );
  app.task('stop.work', async (ctx, ms: number) => {
    runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  });
  return app;
}

describe('warm stop', () => {
  it('finishes running tasks and hands reserved and ETA tasks back to the queue', async () => {
    const runs = new Map<string, number>();
    const app1 = makeApp(runs);
    const w1 = new Worker(app1, { queues: [queue], concurrency: 2, prefetchMultiplier: 4 });
    await w1.start();
    const running = await Promise.all([0, 1].map(() => app1.sendTask('stop.work', [400], {}, { queue })));
    const eta = await app1.sendTask('stop.work', [1], {}, { queue, countdown: 2 });
    const reserved = await Promise.all([0, 1, 2].map(() => app1.sendTask('stop.work', [1], {}, { queue })));
    await waitFor('two tasks running and the rest reserved', async () => {
      const s = w1.stats;
      return s.active === 2 && s.scheduled === 1 && s.ready === 3;
    });

    await w1.stop();
    // The running tasks finished before stop resolved; the others are back in the queue, none run.
    expect(await Promise.all(running.map((r) => r.state()))).toEqual(['SUCCESS', 'SUCCESS']);
    expect(await app1.broker.queueLength(queue)).toBe(4);
    expect(runs.get(eta.id)).toBeUndefined();
    await app1.close();

    const app2 = makeApp(runs);
    const w2 = new Worker(app2, { queues: [queue], concurrency: 2 });
    await w2.start();
    const all = [...running, eta, ...reserved].map((r) => app2.asyncResult<number>(r.id));
    expect(await Promise.all(all.map((r) => r.get({ timeout: 10 })))).toEqual([400, 400, 1, 1, 1, 1]);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(6);
    await Promise.all(all.map((r) => r.forget()));
    await w2.stop();
    await app2.close();
  });

  it('escalates to cold when stopped again: running acksLate tasks go back to the queue at once', async () => {
    const runs = new Map<string, number>();
    const app = makeApp(runs);
    const w = new Worker(app, { queues: [queue], concurrency: 1 });
    await w.start();
    const r = await app.sendTask('stop.late', [], {}, { queue });
    await waitFor('the task to start', async () => runs.get(r.id) === 1);
    const warm = w.stop();
    await w.stop({ cold: true });
    await warm;
    expect(await app.broker.queueLength(queue)).toBe(1);
    expect(await r.state()).toBe('PENDING');
    await app.broker.purge(queue);
    await app.close();
  });
});
