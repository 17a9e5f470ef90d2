/** The worker against real Redis: ctx.retry, exhausted retries, and automatic retries with backoff. */
import { describe, expect, it } from 'vitest';
import { gate, nextEvent, useTestApps, rejection } from '../helpers';

const testApp = useTestApps();

describe('worker retries', () => {
  it('ctx.retry with a countdown stores RETRY, runs again no earlier than the countdown, then succeeds', async () => {
    const h = testApp();
    const secondRun = gate();
    const attempts: { retries: number; at: number }[] = [];
    const flaky = h.app.task('t.flaky', async (ctx, x: number) => {
      attempts.push({ retries: ctx.retries, at: Date.now() });
      if (ctx.retries === 0) ctx.retry({ countdown: 0.3, exc: new Error('not yet') });
      await secondRun.promise;
      return x * 2;
    });
    const w = await h.startWorker();
    const retried = nextEvent(w, 'task-retried');
    const r = await flaky.delay(21);
    const [req, ev] = await retried;
    expect(req.id).toBe(r.id);
    expect(ev.exception).toBe('Error');
    // The second attempt waits on the gate, so RETRY is still the stored state here.
    const info = await r.info();
    expect(info).toMatchObject({ status: 'RETRY', result: { exc_type: 'Error', exc_message: ['not yet'] } });
    expect(info?.children).toEqual([[[r.id, null], null]]);
    expect(ev.eta.getTime()).toBeGreaterThanOrEqual(attempts[0]!.at + 300);
    secondRun.open();
    expect(await r.get({ timeout: 5 })).toBe(42);
    expect(attempts.map((a) => a.retries)).toEqual([0, 1]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(300 - 5);
  });

  it('a retry message keeps the id and arguments and records the parent', async () => {
    const h = testApp();
    const seen: { id: string; args: unknown[]; parentId: string | null; retries: number }[] = [];
    const t = h.app.task('t.echo', (ctx, a: string) => {
      seen.push({ id: ctx.id, args: [a], parentId: ctx.parentId, retries: ctx.retries });
      if (ctx.retries < 1) ctx.retry({ countdown: 0.05 });
      return a;
    });
    await h.startWorker();
    const r = await t.delay('z');
    expect(await r.get({ timeout: 5 })).toBe('z');
    expect(seen).toEqual([
      { id: r.id, args: ['z'], parentId: null, retries: 0 },
      { id: r.id, args: ['z'], parentId: r.id, retries: 1 },
    ]);
  });

  it('when retries run out the given exc is the final FAILURE', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task(
      't.exhaust',
      (ctx) => {
        calls++;
        ctx.retry({ countdown: 0.02, exc: new RangeError(`attempt ${ctx.retries}`) });
      },
      { maxRetries: 2 },
    );
    await h.startWorker();
    const r = await t.delay();
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('RangeError');
    expect(err.message).toBe('attempt 2');
    expect(calls).toBe(3);
    expect(await r.state()).toBe('FAILURE');
  });

  it('when retries run out without an exc the FAILURE is MaxRetriesExceededError', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task(
      't.exhaust2',
      (ctx, _n: number) => {
        calls++;
        ctx.retry({ countdown: 0.02 });
      },
      { maxRetries: 1 },
    );
    await h.startWorker();
    const r = await t.delay(7);
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('MaxRetriesExceededError');
    expect(err.remoteModule).toBe('celery.exceptions');
    expect(err.message).toContain(`t.exhaust2[${r.id}]`);
    expect(err.message).toContain('args:(7,)');
    expect(calls).toBe(2);
  });

  it('ctx.retry({ maxRetries }) overrides the task option', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task('t.override', (ctx) => {
      calls++;
      ctx.retry({ countdown: 0.02, maxRetries: 0, exc: new Error('once') });
    });
    await h.startWorker();
    const err = await rejection((await t.delay()).get({ timeout: 5 }));
    expect(err.message).toBe('once');
    expect(calls).toBe(1);
  });

  it('autoretryFor retries matching errors with exponential backoff, then succeeds', async () => {
    const h = testApp();
    const starts: number[] = [];
    class Flaky extends Error {
      override name = 'FlakyError';
    }
    const t = h.app.task(
      't.auto',
      (ctx) => {
        starts.push(Date.now());
        if (ctx.retries < 2) throw new Flaky(`try ${ctx.retries}`);
        return 'ok';
      },
      { autoretryFor: [Flaky], retryBackoff: 0.2, retryJitter: false, maxRetries: 3 },
    );
    const w = await h.startWorker();
    const retries: { eta: number; seenAt: number; exception: string | null }[] = [];
    w.on('task-retried', (_req, ev) =>
      retries.push({ eta: ev.eta.getTime(), seenAt: Date.now(), exception: ev.exception }),
    );
    const r = await t.delay();
    expect(await r.get({ timeout: 5 })).toBe('ok');
    expect(starts).toHaveLength(3);
    expect(retries.map((x) => x.exception)).toEqual(['FlakyError', 'FlakyError']);
    // Delays of factor * 2^retries: 0.2 s, then 0.4 s. The eta is set when the attempt fails, between its
    // start and the retried event.
    const expected = [200, 400];
    retries.forEach((x, i) => {
      expect(x.eta - starts[i]!).toBeGreaterThanOrEqual(expected[i]!);
      expect(x.eta - x.seenAt).toBeLessThanOrEqual(expected[i]!);
      expect(starts[i + 1]! - starts[i]!).toBeGreaterThanOrEqual(expected[i]! - 5);
    });
  });

  it('autoretryFor matches by name and leaves other errors alone', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task(
      't.auto2',
      () => {
        calls++;
        throw new SyntaxError('not retried');
      },
      { autoretryFor: ['TypeError'], defaultRetryDelay: 0 },
    );
    await h.startWorker();
    const err = await rejection((await t.delay()).get({ timeout: 5 }));
    expect(err.name).toBe('SyntaxError');
    expect(calls).toBe(1);
  });

  it('autoretryFor gives up after maxRetries with the original error', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task(
      't.auto3',
      () => {
        calls++;
        throw new TypeError(`call ${calls}`);
      },
      { autoretryFor: ['TypeError'], defaultRetryDelay: 0.02, maxRetries: 2 },
    );
    await h.startWorker();
    const err = await rejection((await t.delay()).get({ timeout: 5 }));
    expect(err.name).toBe('TypeError');
    expect(err.message).toBe('call 3');
    expect(calls).toBe(3);
  });
});
