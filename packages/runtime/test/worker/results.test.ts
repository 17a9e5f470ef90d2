/** The worker against real Redis: results, failures, encoding, forget, unregistered tasks, result waits. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { resultKey, ResultTimeoutError, TaskFailedError } from '../../src';
import { BACKEND_URL, gate, nextEvent, useTestApps, waitFor, rejection } from '../helpers';

const testApp = useTestApps();

describe('worker results', () => {
  it('runs a task and returns its result through get()', async () => {
    const h = testApp();
    const add = h.app.task('t.add', (_ctx, a: number, b: number) => a + b);
    const obj = h.app.task('t.obj', (ctx, name: string) => ({ name, kw: ctx.kwargs, id: ctx.id }));
    await h.startWorker();
    const r = await add.delay(2, 3);
    expect(await r.get({ timeout: 5 })).toBe(5);
    expect(await r.state()).toBe('SUCCESS');
    expect(await r.ready()).toBe(true);
    expect(await r.successful()).toBe(true);
    const info = await r.info();
    expect(info).toMatchObject({ status: 'SUCCESS', result: 5, task_id: r.id, traceback: null });
    const r2 = await obj.applyAsync(['ada'], { kwargs: { k: 1 } });
    expect(await r2.get({ timeout: 5 })).toEqual({ name: 'ada', kw: { k: 1 }, id: r2.id });
  });

  it('stores a failure with its type and message, and get() rethrows it', async () => {
    const h = testApp();
    const fail = h.app.task('t.fail', (_ctx, what: string) => {
      throw new TypeError(`bad ${what}`);
    });
    const w = await h.startWorker();
    const failed = nextEvent(w, 'task-failed');
    const r = await fail.delay('input');
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('TypeError');
    expect(err.message).toBe('bad input');
    expect(err.remoteModule).toBe('builtins');
    expect(err.traceback).toMatch(/TypeError: bad input/);
    expect(await r.state()).toBe('FAILURE');
    const [req, ev] = await failed;
    expect(req.id).toBe(r.id);
    expect(ev.exception).toBe("TypeError('bad input')"); // Python's repr, as Celery's events show it
    // propagate: false returns the error instead.
    const returned = await r.get({ timeout: 5, propagate: false });
    expect(returned).toBeInstanceOf(TaskFailedError);
    expect((returned as unknown as TaskFailedError).name).toBe('TypeError');
  });

  it('a result that is not JSON fails with EncodeError naming the path, and the worker keeps working', async () => {
    const h = testApp();
    class User {
      constructor(readonly name: string) {}
    }
    const bad = h.app.task('t.bad', () => ({ ok: true, user: new User('ada') }));
    const good = h.app.task('t.good', () => 'fine');
    await h.startWorker({ concurrency: 1 });
    const r = await bad.delay();
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('EncodeError');
    expect(err.message).toBe('result.user: instance of class User');
    expect(err.remoteModule).toBe('kombu.exceptions');
    expect(await (await good.delay()).get({ timeout: 5 })).toBe('fine');
  });

  it('ignoreResult stores nothing, even after the worker reports success', async () => {
    const h = testApp();
    const quiet = h.app.task('t.quiet', () => 42, { ignoreResult: true, trackStarted: true });
    const loud = h.app.task('t.loud', () => 43);
    const w = await h.startWorker();
    const succeeded = nextEvent(w, 'task-succeeded', (req) => req.name === 't.quiet');
    const r = await quiet.delay();
    const [, outcome] = await succeeded;
    expect(outcome.resultJson).toBe('42');
    expect(await r.state()).toBe('PENDING');
    expect(await r.info()).toBeNull();
    // Per call as well: ignoreResult on applyAsync.
    const succeeded2 = nextEvent(w, 'task-succeeded', (req) => req.name === 't.loud');
    const r2 = await loud.applyAsync([], { ignoreResult: true });
    await succeeded2;
    expect(await r2.state()).toBe('PENDING');
  });

  it('results expire after resultExpires, or never when it is null', async () => {
    const expiring = testApp({ resultExpires: 60 });
    const keeping = testApp({ resultExpires: null });
    const a = expiring.app.task('t.a', () => 'a');
    const b = keeping.app.task('t.b', () => 'b');
    await expiring.startWorker();
    await keeping.startWorker();
    const ra = await a.delay();
    const rb = await b.delay();
    expect(await ra.get({ timeout: 5 })).toBe('a');
    expect(await rb.get({ timeout: 5 })).toBe('b');
    const redis = new Redis(BACKEND_URL);
    try {
      const ttl = await redis.ttl(resultKey(ra.id));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
      expect(await redis.ttl(resultKey(rb.id))).toBe(-1);
    } finally {
      redis.disconnect();
    }
  });

  it('forget() deletes the stored result', async () => {
    const h = testApp();
    const t = h.app.task('t.forget', () => 'x');
    await h.startWorker();
    const r = await t.delay();
    expect(await r.get({ timeout: 5 })).toBe('x');
    expect(await r.info()).not.toBeNull();
    await r.forget();
    expect(await r.info()).toBeNull();
    expect(await r.state()).toBe('PENDING');
  });

  it('an unregistered task name fails with NotRegistered and the raw message goes to dead letters', async () => {
    const h = testApp();
    h.app.task('t.known', () => 1);
    const w = await h.startWorker();
    const name = `t.nope.${randomUUID()}`;
    const dead = nextEvent(w, 'message-dead-lettered');
    const r = h.track(await h.app.sendTask(name, [1, 2], { k: 'v' }));
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('NotRegistered');
    expect(err.message).toBe(name);
    expect(err.remoteModule).toBe('celery.exceptions');
    const [ev] = await dead;
    expect(ev.queue).toBe(h.queue);
    const letters = await h.app.state.deadLetters.list(h.queue);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toContain(name);
    // Kept decoded (and raw, as the broker held it, for display).
    const kept = letters[0]!.message!;
    expect(kept.headers).toMatchObject({ id: r.id, task: name });
    expect(letters[0]!.raw).toContain(r.id);
    expect(JSON.parse(kept.body)).toEqual([
      [1, 2],
      { k: 'v' },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
    expect(await h.app.broker.queueLength(h.queue)).toBe(0);
  });

  it('trackStarted stores STARTED while the task runs', async () => {
    const h = testApp();
    const g = gate();
    const slow = h.app.task(
      't.slow',
      async () => {
        await g.promise;
        return 'done';
      },
      { trackStarted: true },
    );
    const w = await h.startWorker();
    const r = await slow.delay();
    await waitFor(async () => (await r.state()) === 'STARTED', { what: 'STARTED' });
    expect(await r.info()).toMatchObject({ status: 'STARTED', result: { hostname: w.hostname } });
    expect(await r.ready()).toBe(false);
    g.open();
    expect(await r.get({ timeout: 5 })).toBe('done');
  });

  it('without trackStarted a running task reads PENDING', async () => {
    const h = testApp();
    const g = gate();
    const started = gate();
    const slow = h.app.task('t.untracked', async () => {
      started.open();
      await g.promise;
      return 1;
    });
    await h.startWorker();
    const r = await slow.delay();
    await started.promise;
    expect(await r.state()).toBe('PENDING');
    g.open();
    expect(await r.get({ timeout: 5 })).toBe(1);
  });

  it('get({timeout}) on a task nobody runs rejects with ResultTimeoutError', async () => {
    const h = testApp();
    const t = h.app.task('t.never', () => 1);
    const r = await t.delay(); // no worker
    const err = await r.get({ timeout: 0.3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResultTimeoutError);
    expect((err as ResultTimeoutError).code).toBe('RESULT_TIMEOUT');
    expect(await h.app.broker.queueLength(h.queue)).toBe(1);
  });

  it('state() of an unknown id is PENDING', async () => {
    const h = testApp();
    const r = h.app.asyncResult(randomUUID());
    expect(await r.state()).toBe('PENDING');
    expect(await r.info()).toBeNull();
    expect(await r.ready()).toBe(false);
    expect(await r.successful()).toBe(false);
  });
});
