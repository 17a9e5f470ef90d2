/**
 * Lovage's canvas client against a Lovage worker: chains, groups, chords, link and link_error run to their end,
 * failures stop a chain (its errback runs) and fail a chord's body with ChordError, a retried step keeps its
 * chain, and a GroupResult reads, revokes and saves its members. Runs on the run's broker (Redis or RabbitMQ).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chain, chord, group, GroupResult, type App, type AsyncResult } from '../../src';
import { useTestApps } from '../helpers';

const testApp = useTestApps();

function tasks(app: App) {
  /** What ran, by task id: its arguments and its parent. */
  const runs = new Map<string, { name: string; args: unknown[]; parentId: string | null }>();
  const errbacks: string[] = [];
  return {
    runs,
    errbacks,
    add: app.task('w.add', (ctx, a: number, b: number) => {
      runs.set(ctx.id, { name: 'w.add', args: [a, b], parentId: ctx.parentId });
      return a + b;
    }),
    mul: app.task('w.mul', (ctx, a: number, b: number) => {
      runs.set(ctx.id, { name: 'w.mul', args: [a, b], parentId: ctx.parentId });
      return a * b;
    }),
    tsum: app.task('w.tsum', (_ctx, xs: number[]) => xs.reduce((s, x) => s + x, 0)),
    fail: app.task('w.fail', (_ctx, ...args: unknown[]) => {
      const err = new Error(String(args.at(-1)));
      err.name = 'ValueError';
      throw err;
    }),
    flaky: app.task(
      'w.flaky',
      (ctx, x: number) => {
        if (ctx.retries < 1) ctx.retry({ countdown: 0.05 });
        return x + ctx.retries;
      },
      { maxRetries: 2 },
    ),
    recordError: app.task('w.recordError', (_ctx, failedId: string) => {
      errbacks.push(failedId);
      return `errback for ${failedId}`;
    }),
  };
}

/** Tracks a result, its parents and group members (and theirs) for cleanup. */
function trackAll(h: ReturnType<typeof testApp>, r: AsyncResult | GroupResult): void {
  for (let node: AsyncResult | GroupResult | null = r; node; node = node.parent) {
    h.track(node);
    if (node instanceof GroupResult) for (const m of node.results) trackAll(h, m);
  }
}

describe('Lovage canvas -> Lovage worker', () => {
  it('runs a chain to its end; every step with the previous result and its parent', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const r = await chain(t.add.s(1, 2), t.add.s(3), t.mul.s(4)).applyAsync();
    trackAll(h, r);
    expect(await r.get({ timeout: 10 })).toBe(24);
    const second = r.parent as AsyncResult;
    const first = second.parent as AsyncResult;
    expect(await second.get({ timeout: 5 })).toBe(6);
    expect(await first.get({ timeout: 5 })).toBe(3);
    expect(t.runs.get(r.id)).toEqual({ name: 'w.mul', args: [6, 4], parentId: second.id });
    expect(t.runs.get(second.id)).toEqual({ name: 'w.add', args: [3, 3], parentId: first.id });
    // Each step's stored children name the step it sent (Celery's tracer does the same).
    expect((await first.children()).map((c) => c.id)).toEqual([second.id]);
    expect((await second.children()).map((c) => c.id)).toEqual([r.id]);
    expect(await r.children()).toEqual([]);
  });

  it('runs a group: results in order, counted, read by state', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const g = await group([1, 2, 3, 4].map((i) => t.add.s(i, i))).applyAsync();
    trackAll(h, g);
    expect(await g.get({ timeout: 10 })).toEqual([2, 4, 6, 8]);
    expect(await g.ready()).toBe(true);
    expect(await g.successful()).toBe(true);
    expect(await g.failed()).toBe(false);
    expect(await g.completedCount()).toBe(4);
  });

  it('runs a chord: the body gets the header results in order; its parent is the header', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const r = await chord(
      [0, 1, 2, 3, 4].map((i) => t.add.s(i, i)),
      t.tsum.s(),
    ).applyAsync();
    trackAll(h, r);
    expect(await r.get({ timeout: 10 })).toBe(20);
    expect(await (r.parent as GroupResult).get({ timeout: 5 })).toEqual([0, 2, 4, 6, 8]);
  });

  it('runs chains inside a group and inside a chord header (a chain that starts with a group)', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const g = await group(chain(t.add.s(1, 1), t.mul.s(3)), t.add.s(2, 2)).applyAsync();
    trackAll(h, g);
    expect(await g.get({ timeout: 10 })).toEqual([6, 4]);
    const r = await chain(group(chain(t.add.s(1, 1), t.add.s(2)), t.add.s(3, 3)), t.tsum.s()).applyAsync();
    trackAll(h, r);
    expect(await r.get({ timeout: 10 })).toBe(10);
    const header = r.parent as GroupResult;
    expect(await header.get({ timeout: 5 })).toEqual([4, 6]);
  });

  it('sends link callbacks with the result, and link_error errbacks with the failed id', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const cbId = randomUUID();
    const ok = await t.add
      .s(2, 3)
      .link(t.mul.s(10).set({ taskId: cbId }))
      .applyAsync();
    const cb = h.track(h.app.asyncResult(cbId));
    h.track(ok);
    expect(await cb.get({ timeout: 10 })).toBe(50);
    expect(t.runs.get(cbId)).toEqual({ name: 'w.mul', args: [5, 10], parentId: ok.id });
    // Callbacks are sent before the task's own result is stored (as Celery does): wait for it first.
    expect(await ok.get({ timeout: 10 })).toBe(5);
    expect((await ok.children()).map((c) => c.id)).toEqual([cbId]);

    const ebId = randomUUID();
    const bad = h.track(
      await t.fail
        .s('boom')
        .linkError(t.recordError.s().set({ taskId: ebId }))
        .applyAsync(),
    );
    await expect(bad.get({ timeout: 10 })).rejects.toMatchObject({ name: 'ValueError', message: 'boom' });
    expect(await h.track(h.app.asyncResult(ebId)).get({ timeout: 10 })).toBe(`errback for ${bad.id}`);
  });

  it("stores several callbacks as one group in the task's children, a chord step as its header", async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const [a, b] = [randomUUID(), randomUUID()];
    const r = h.track(
      await t.add
        .s(1, 1)
        .link(t.mul.s(2).set({ taskId: a }))
        .link(t.mul.s(3).set({ taskId: b }))
        .applyAsync(),
    );
    for (const id of [a, b])
      expect(await h.track(h.app.asyncResult(id)).get({ timeout: 10 })).toBeGreaterThan(0);
    expect(await r.get({ timeout: 10 })).toBe(2);
    const [callbacks] = await r.children();
    expect(callbacks).toBeInstanceOf(GroupResult);
    expect((callbacks as GroupResult).results.map((c) => c.id)).toEqual([a, b]);

    const end = await chain(t.add.s(1, 1), group(t.mul.s(2), t.mul.s(3)), t.tsum.s()).applyAsync();
    trackAll(h, end);
    expect(await end.get({ timeout: 10 })).toBe(10);
    const header = end.parent as GroupResult;
    expect(await (header.parent as AsyncResult).get({ timeout: 10 })).toBe(2);
    const [sent] = await (header.parent as AsyncResult).children();
    expect(sent).toBeInstanceOf(GroupResult);
    expect(sent!.id).toBe(header.id);
    expect((sent as GroupResult).results.map((c) => c.id)).toEqual(header.results.map((c) => c.id));
  });

  it('stops a chain at a failing step: the rest never runs, its end fails, the errback runs', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const r = await chain(t.add.s(1, 1), t.fail.s('boom'), t.mul.s(3))
      .linkError(t.recordError.s())
      .applyAsync();
    trackAll(h, r);
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ name: 'ValueError', message: 'boom' });
    const failed = r.parent as AsyncResult;
    expect(await failed.state()).toBe('FAILURE');
    expect(t.runs.has(r.id)).toBe(false);
    await expect.poll(() => t.errbacks, { timeout: 10_000 }).toContain(failed.id);
    expect(t.errbacks).not.toContain((failed.parent as AsyncResult).id);
  });

  it("fails a chord's body with ChordError naming the failed header task", async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const r = await chord([t.add.s(1, 1), t.fail.s('boom'), t.add.s(2, 2)], t.tsum.s()).applyAsync();
    trackAll(h, r);
    const failedId = (r.parent as GroupResult).results[1]!.id;
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({
      name: 'ChordError',
      message: `Dependency ${failedId} raised ValueError('boom')`,
    });
  });

  it('keeps the chain through a retry of one of its steps', async () => {
    const h = testApp();
    const t = tasks(h.app);
    await h.startWorker();
    const r = await chain(t.add.s(1, 1), t.flaky.s(), t.mul.s(10)).applyAsync();
    trackAll(h, r);
    // flaky ran twice (one retry) and returned 2 + 1; the step after it still ran.
    expect(await r.get({ timeout: 10 })).toBe(30);
    expect(t.runs.get(r.id)).toMatchObject({ args: [3, 10], parentId: (r.parent as AsyncResult).id });
  });

  it('revokes every member of a group; a saved group is restored with its members', async () => {
    const h = testApp();
    const t = tasks(h.app);
    const g = await group(t.add.s(1, 1), t.add.s(2, 2)).applyAsync();
    trackAll(h, g);
    await g.save();
    const back = await h.app.restoreGroup(g.id);
    await back!.delete();
    expect(back!.results.map((r) => r.id)).toEqual(g.results.map((r) => r.id));
    await g.revoke();
    await h.startWorker();
    await Promise.all(g.results.map((r) => h.app.backend!.waitReady(r.id, 10_000)));
    expect(await Promise.all(g.results.map((r) => r.state()))).toEqual(['REVOKED', 'REVOKED']);
    expect(await g.ready()).toBe(true);
    expect(await g.successful()).toBe(false);
    expect(t.runs.size).toBe(0);
  });
});
