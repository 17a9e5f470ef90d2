/** Bulk sends: many tasks in one round trip per batch, all encoded before any is sent. */
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../src';
import { useTestApps } from '../helpers';

const testApp = useTestApps();

describe('bulk send', () => {
  it('applyAsyncMany and delayMany send every call in order; each handle gets its own result', async () => {
    const h = testApp();
    const add = h.app.task('bulk.add', (_ctx, a: number, b: number) => a + b);
    const many = await add.applyAsyncMany(
      Array.from({ length: 50 }, (_, i) => ({ args: [i, 1] as [number, number], options: { priority: 0 } })),
    );
    const more = await add.delayMany([
      [100, 1],
      [200, 2],
    ]);
    for (const r of [...many, ...more]) h.track(r);
    expect(new Set(many.map((r) => r.id)).size).toBe(50);
    expect(await h.app.broker.queueLength(h.queue)).toBe(52);
    await h.startWorker({ concurrency: 4 });
    expect(await Promise.all(many.map((r) => r.get({ timeout: 10 })))).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(await Promise.all(more.map((r) => r.get({ timeout: 10 })))).toEqual([101, 202]);
  });

  it('sendTaskMany routes each call by its own options (queue, countdown, task id)', async () => {
    const h = testApp();
    const other = `${h.queue}-other`;
    const [a, b] = await h.app.sendTaskMany([
      { name: 'bulk.x', args: [1], options: { taskId: 'fixed-id-1' } },
      { name: 'bulk.y', args: [2], kwargs: { k: 'v' }, options: { queue: other, countdown: 60 } },
    ]);
    expect(a!.id).toBe('fixed-id-1');
    expect(b!.id).not.toBe(a!.id);
    expect(await h.app.broker.queueLength(h.queue)).toBe(1);
    expect(await h.app.broker.queueLength(other)).toBe(1);
    await h.app.broker.purge(other);
  });

  it('one bad call fails the whole send before anything is sent, naming the call and the bad value', async () => {
    const h = testApp();
    const t = h.app.task('bulk.t', (_ctx, _v: unknown) => 1);
    const calls = [{ args: [1] }, { args: [2] }, { args: [{ when: 10n }] }, { args: [4] }] as {
      args: [unknown];
    }[];
    const err = await t.applyAsyncMany(calls).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncodeError);
    expect((err as Error).message).toMatch(/^call 2 \(bulk\.t\): .*args\[0\]\.when/);
    expect(await h.app.broker.queueLength(h.queue)).toBe(0);
    expect(await t.applyAsyncMany([])).toEqual([]);
  });
});
