/**
 * Celery 5.2.6 canvas on Lovage workers (issue 13, worker side): a Python client sends chains, links, groups
 * and chords (py/canvas_client.py) whose tasks run on a Lovage worker, some chord header tasks on a Celery
 * worker too, and reads the outcome with Celery's own `get()`. Runs on both brokers
 * (canvas-interop.redis.test.ts, canvas-interop.amqp.test.ts); results and chord counting on the Redis result
 * backend, shared by both kinds of worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chain,
  chord,
  group,
  GroupResult,
  Worker,
  type AsyncResult,
  type TaskContext,
} from '../../src/index';
import {
  runPyJson,
  startCeleryWorker,
  stopProcess,
  uniq,
  useInterop,
  type InteropKind,
} from './interop-target';

interface CanvasOutcome {
  id: string;
  ids: Record<string, string | string[]>;
  ok: boolean;
  state: string;
  result?: unknown;
  exc_type?: string;
  exc_args?: string[];
}

export function describeCanvasInterop(kind: InteropKind): void {
  const { target, app, taskIds, queues } = useInterop(kind, 'canvas');
  const lq = uniq('canvas-lovage');
  const pq = uniq('canvas-celery');
  queues.add(lq);
  queues.add(pq);

  /** Every run of a Lovage task by id, with its parent and root, to check what ran and how it was linked. */
  const runs = new Map<
    string,
    { name: string; args: unknown[]; parentId: string | null; rootId: string; group: string | null }
  >();
  /** The ids errbacks were called with. */
  const errbackCalls: string[] = [];

  const record =
    <A extends unknown[], R>(name: string, fn: (...args: A) => R) =>
    (ctx: TaskContext, ...args: A): R => {
      runs.set(ctx.id, { name, args, parentId: ctx.parentId, rootId: ctx.rootId, group: ctx.request.group });
      return fn(...args);
    };
  app.task(
    'ts.add',
    record('ts.add', (a: number, b: number) => a + b),
  );
  app.task(
    'ts.mul',
    record('ts.mul', (a: number, b: number) => a * b),
  );
  app.task(
    'ts.tsum',
    record('ts.tsum', (numbers: number[]) => numbers.reduce((s, n) => s + n, 0)),
  );
  app.task(
    'ts.fail',
    record('ts.fail', (...args: unknown[]) => {
      const err = new Error(String(args.at(-1)));
      err.name = 'ValueError';
      throw err;
    }),
  );
  app.task(
    'ts.recordError',
    record('ts.recordError', (failedId: string) => {
      errbackCalls.push(failedId);
      return `errback for ${failedId}`;
    }),
  );

  let worker: Worker;
  let celery: Awaited<ReturnType<typeof startCeleryWorker>> | null = null;

  beforeAll(async () => {
    worker = new Worker(app, { queues: [lq], concurrency: 4, hostname: `lovage-${lq}@localhost` });
    await worker.start();
    celery = startCeleryWorker(target, {
      module: 'pytasks',
      hostname: `${uniq('celery')}@localhost`,
      queues: [pq],
    });
    // Ready once a first task made the round trip.
    const first = await app.sendTask('py.add', [20, 22], {}, { queue: pq });
    taskIds.add(first.id);
    expect(await Promise.race([first.get({ timeout: 25 }), celery.died()])).toBe(42);
  }, 40_000);

  afterAll(async () => {
    await worker?.stop();
    if (celery) await stopProcess(celery.proc);
  });

  async function canvas(scenario: string, timeout = 15, extra = {}): Promise<CanvasOutcome> {
    const out = await runPyJson<CanvasOutcome>(
      target,
      ['canvas_client.py', JSON.stringify({ scenario, timeout, lq, pq, ...extra })],
      (timeout + 15) * 1000,
    );
    taskIds.add(out.id);
    for (const v of Object.values(out.ids)) for (const id of [v].flat()) taskIds.add(id);
    for (const id of runs.keys()) taskIds.add(id);
    return out;
  }

  describe('Celery 5.2.6 canvas -> Lovage worker', () => {
    it('runs a chain to its end, each step with the previous result and its parent', async () => {
      const out = await canvas('chain');
      expect(out).toMatchObject({ ok: true, state: 'SUCCESS', result: 20 });
      const first = out.ids.first as string;
      expect(runs.get(out.id)).toEqual({
        name: 'ts.mul',
        args: [5, 4],
        parentId: first,
        rootId: first,
        group: null,
      });

      const three = await canvas('chain3');
      expect(three).toMatchObject({ ok: true, result: 10 });
      expect(runs.get(three.id)).toMatchObject({ args: [6, 4], parentId: three.ids.second });
      expect(runs.get(three.ids.second as string)).toMatchObject({ args: [3, 3], parentId: three.ids.first });
    });

    it('sends link callbacks with the result prepended, immutable ones as they are', async () => {
      const out = await canvas('link');
      expect(out).toMatchObject({ ok: true, result: 5 });
      const { callback, immutable } = out.ids as Record<string, string>;
      const [cb, still] = await Promise.all([
        app.backend!.waitReady(callback!, 10_000),
        app.backend!.waitReady(immutable!, 10_000),
      ]);
      expect(cb).toMatchObject({ status: 'SUCCESS', result: 50 });
      expect(still).toMatchObject({ status: 'SUCCESS', result: 2 });
      expect(runs.get(callback!)).toMatchObject({ args: [5, 10], parentId: out.id, rootId: out.id });
    });

    it('runs link_error errbacks with the failed task id', async () => {
      const out = await canvas('link_error');
      expect(out).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'ValueError', exc_args: ['boom'] });
      const errback = await app.backend!.waitReady(out.ids.errback as string, 10_000);
      expect(errback).toMatchObject({ status: 'SUCCESS', result: `errback for ${out.id}` });
      expect(runs.get(out.ids.errback as string)).toMatchObject({ parentId: out.id });
    });

    it('stops a chain at a failing step: the rest never runs, its end fails, the errback runs', async () => {
      const out = await canvas('chain_fails');
      // Celery's get() may re-raise the failed step's error (it checks the parents first) a moment before the
      // chain's end is stored: its state is read from the backend.
      expect(out).toMatchObject({ ok: false, exc_type: 'ValueError', exc_args: ['boom'] });
      const end = await app.backend!.waitReady(out.id, 10_000);
      expect(end).toMatchObject({
        status: 'FAILURE',
        result: { exc_type: 'ValueError', exc_message: ['boom'] },
      });
      expect(runs.has(out.id)).toBe(false);
      expect(runs.get(out.ids.failed as string)).toMatchObject({ name: 'ts.fail', args: [2, 'boom'] });
      await expect.poll(() => errbackCalls, { timeout: 10_000 }).toContain(out.ids.failed);
      expect(errbackCalls).not.toContain(out.ids.first);
    });

    it('sends a chord that follows a chain step (Celery makes group + task one), to its body', async () => {
      const out = await canvas('chain_to_chord');
      expect(out).toMatchObject({ ok: true, result: 10 });
      expect(runs.get(out.id)).toMatchObject({ name: 'ts.tsum', args: [[4, 6]] });
    });

    it('runs a group and Celery reads its results in order', async () => {
      const out = await canvas('group');
      expect(out).toMatchObject({ ok: true, result: [0, 2, 4, 6] });
    });

    it('sends a group that follows a chain step, each member with the step result', async () => {
      const out = await canvas('chain_to_group');
      expect(out).toMatchObject({ ok: true, result: [4, 6] });
      const [a, b] = out.ids.children as string[];
      expect(runs.get(a!)).toMatchObject({ name: 'ts.mul', args: [2, 2], group: out.id });
      expect(runs.get(b!)).toMatchObject({ name: 'ts.mul', args: [2, 3], group: out.id });
    });

    it('completes a chord whose header ran on the Lovage worker', async () => {
      const out = await canvas('chord');
      expect(out).toMatchObject({ ok: true, state: 'SUCCESS', result: 20 });
      expect(runs.get(out.id)).toMatchObject({ name: 'ts.tsum', args: [[0, 2, 4, 6, 8]] });
    });

    it('completes a chord whose header is shared by a Celery and a Lovage worker, the body on either', async () => {
      const lovageBody = await canvas('chord_mixed');
      expect(lovageBody).toMatchObject({ ok: true, result: 30 });
      expect(runs.get(lovageBody.id)).toMatchObject({ args: [[0, 2, 4, 6, 8, 10]] });
      const celeryBody = await canvas('chord_mixed_py_body');
      expect(celeryBody).toMatchObject({ ok: true, result: 66 });
    });

    it('fails a chord when a chain in its header fails before its last step (the step that never runs counts)', async () => {
      const out = await canvas('chord_chain_fails');
      expect(out).toMatchObject({ ok: false, exc_type: 'ValueError' });
      const body = await app.backend!.waitReady(out.id, 10_000);
      expect(body).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ChordError' } });
      expect((body.result as { exc_message: string[] }).exc_message[0]).toMatch(
        /^Dependency [0-9a-f-]{36} raised ValueError\('boom'\)$/,
      );
      expect(runs.has(out.id)).toBe(false);
    });

    it('fails a chord whose header task failed with ChordError naming it, and runs the body errback', async () => {
      const out = await canvas('chord_fails');
      // Celery's get() re-raises the failed header task's error (it checks the parents first)...
      expect(out).toMatchObject({ ok: false, exc_type: 'ValueError', exc_args: ['boom'] });
      // ...and the body's own result is Celery's ChordError naming that task.
      const body = await app.backend!.waitReady(out.id, 10_000);
      expect(body).toMatchObject({
        status: 'FAILURE',
        result: { exc_type: 'ChordError', exc_module: 'celery.exceptions' },
      });
      const failed = [...runs].find(([, r]) => r.name === 'ts.fail' && r.group !== null)?.[0];
      expect((body.result as { exc_message: string[] }).exc_message).toEqual([
        `Dependency ${failed} raised ValueError('boom')`,
      ]);
      expect(runs.has(out.id)).toBe(false);
      await expect.poll(() => errbackCalls, { timeout: 10_000 }).toContain(out.id);
    });
  });

  describe('Lovage canvas -> Celery 5.2.6 worker (and a mixed fleet)', () => {
    /** A task by name on the Celery worker's queue (pq) or the Lovage worker's (lq). */
    const py = (name: string, ...args: unknown[]) => app.signature(`py.${name}`, args, {}, { queue: pq });
    const ts = (name: string, ...args: unknown[]) => app.signature(`ts.${name}`, args, {}, { queue: lq });
    /** Tracks a result, its parents and group members for cleanup. */
    const track = (r: AsyncResult | GroupResult): void => {
      for (let n: AsyncResult | GroupResult | null = r; n; n = n.parent) {
        taskIds.add(n.id);
        if (n instanceof GroupResult) for (const m of n.results) taskIds.add(m.id);
      }
    };

    it('runs a chain on the Celery worker, and one that goes back and forth between both kinds', async () => {
      const r = await chain(py('add', 2, 3), py('add', 4)).applyAsync();
      track(r);
      expect(await r.get({ timeout: 15 })).toBe(9);
      const mixed = await chain(py('add', 1, 2), ts('mul', 4), py('add', 5)).applyAsync();
      track(mixed);
      expect(await mixed.get({ timeout: 15 })).toBe(17);
      const middle = mixed.parent as AsyncResult;
      expect(runs.get(middle.id)).toMatchObject({
        args: [3, 4],
        parentId: (middle.parent as AsyncResult).id,
      });
      // Both kinds of worker store the step they sent as the task's children, in Celery's result tuples.
      const first = middle.parent as AsyncResult;
      // A step's result is stored after it sent the next one: wait for each before reading its children.
      expect(await first.get({ timeout: 15 })).toBe(3);
      expect(await middle.get({ timeout: 15 })).toBe(12);
      expect((await first.info())!.children).toEqual([[[middle.id, null], null]]);
      expect((await middle.info())!.children).toEqual([[[mixed.id, null], null]]);
      expect((await first.children()).map((c) => c.id)).toEqual([middle.id]);
    });

    it('runs a group on the Celery worker, results in order', async () => {
      const g = await group([0, 1, 2, 3].map((i) => py('add', i, i))).applyAsync();
      track(g);
      expect(await g.get({ timeout: 15 })).toEqual([0, 2, 4, 6]);
      expect(await g.completedCount()).toBe(4);
    });

    it('runs a chord counted by the Celery worker, and one whose header both kinds share', async () => {
      const r = await chord(
        [0, 1, 2, 3].map((i) => py('add', i, i)),
        py('tsum'),
      ).applyAsync();
      track(r);
      expect(await r.get({ timeout: 15 })).toBe(12);
      const header = [0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? ts('add', i, i) : py('add', i, i)));
      const mixed = await chord(header, ts('tsum')).applyAsync();
      track(mixed);
      expect(await mixed.get({ timeout: 15 })).toBe(30);
      expect(runs.get(mixed.id)).toMatchObject({ args: [[0, 2, 4, 6, 8, 10]] });
    });

    it("runs a Celery task's link_error errback (on the Lovage worker) with the failed id", async () => {
      const r = await py('fail', 'boom').linkError(ts('recordError')).applyAsync();
      track(r);
      await expect(r.get({ timeout: 15 })).rejects.toMatchObject({ name: 'ValueError' });
      await expect.poll(() => errbackCalls, { timeout: 10_000 }).toContain(r.id);
    });

    it("Celery's GroupResult.restore reads a group Lovage saved", async () => {
      const g = await group([1, 2, 3].map((i) => py('add', i, 10))).applyAsync();
      track(g);
      await g.save();
      try {
        const out = await canvas('restore', 15, { gid: g.id });
        expect(out).toMatchObject({ id: g.id, ok: true, result: [11, 12, 13] });
        expect(out.ids.children).toEqual(g.results.map((r) => r.id));
      } finally {
        await g.delete();
      }
    });
  });
}
