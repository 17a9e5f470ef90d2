/**
 * The worker's canvas steps without Celery (the interop with Celery 5.2.6 is test/interop/canvas-interop.*):
 * a chain's next step keeps going through a retry, and a step the worker cannot send (a composite signature,
 * malformed options) fails under its own id instead of being dropped, while the worker goes on serving.
 * Embeds are written by hand as Celery sends them; runs on the run's broker (Redis or RabbitMQ).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Signature } from '../../src';
import { useTestApps } from '../helpers';

const testApp = useTestApps();

const sig = (task: string, args: unknown[], options: Record<string, unknown> = {}): Signature => ({
  task,
  args,
  kwargs: {},
  options: { task_id: randomUUID(), ...options },
  subtask_type: null,
  immutable: false,
});

describe('worker canvas', () => {
  it('sends the chain on after a retry of one of its steps, to its end', async () => {
    const h = testApp();
    h.app.task(
      'c.flaky',
      (ctx, x: number) => {
        if (ctx.retries < 1) ctx.retry({ countdown: 0.05 });
        return x + 1;
      },
      { maxRetries: 2 },
    );
    h.app.task('c.mul', (_ctx, a: number, b: number) => a * b);
    await h.startWorker();
    const last = sig('c.mul', [10]);
    const middle = sig('c.flaky', []);
    const first = h.track(await h.app.sendTask('c.mul', [2, 3], {}, { embed: { chain: [last, middle] } }));
    const end = h.track({ id: last.options.task_id as string });
    h.track({ id: middle.options.task_id as string });
    const meta = await h.app.backend!.waitReady(end.id, 10_000);
    const middleId = middle.options.task_id as string;
    // The step after the retried one has it as parent (the retried run's own parent is itself, as in Celery).
    expect(meta).toMatchObject({ status: 'SUCCESS', result: 70, parent_id: middleId });
    // Each step is sent before its own result is stored (as Celery does): wait for them.
    expect(await h.app.backend!.waitReady(middleId, 5000)).toMatchObject({ status: 'SUCCESS', result: 7 });
    expect(await h.app.backend!.waitReady(first.id, 5000)).toMatchObject({ status: 'SUCCESS', result: 6 });
  });

  it('fails a composite step and a step with malformed options under their ids; the worker goes on', async () => {
    const h = testApp();
    h.app.task('c.add', (_ctx, a: number, b: number) => a + b);
    await h.startWorker();
    const chained = { ...sig('celery.chain', []), subtask_type: 'chain' };
    const badLink = sig('c.add', [1], { link: ['c.add'] });
    const r = h.track(
      await h.app.sendTask('c.add', [1, 2], {}, { embed: { callbacks: [badLink], chain: [chained] } }),
    );
    for (const s of [chained, badLink]) h.track({ id: s.options.task_id as string });
    expect(await r.get({ timeout: 5 })).toBe(3);
    const [composite, malformed] = await Promise.all([
      h.app.backend!.waitReady(chained.options.task_id as string, 5000),
      h.app.backend!.waitReady(badLink.options.task_id as string, 5000),
    ]);
    expect(composite).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'NotImplementedError', exc_module: 'builtins' },
    });
    expect(malformed).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['options.link[0] must be a signature (an object)'] },
    });
    const again = h.track(await h.app.sendTask('c.add', [20, 22]));
    expect(await again.get({ timeout: 5 })).toBe(42);
  });
});
