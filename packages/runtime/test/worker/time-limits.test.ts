/** The worker against real Redis: soft and hard time limits. */
import { describe, expect, it } from 'vitest';
import { gate, nextEvent, useTestApps, rejection } from '../helpers';

const testApp = useTestApps();

describe('worker time limits', () => {
  it('softTimeLimit fires ctx.signal; a task that rejects with signal.reason ends SoftTimeLimitExceeded', async () => {
    const h = testApp();
    let abortedAfter = -1;
    let abortedAtStart: boolean | null = null;
    const t = h.app.task(
      't.soft',
      async (ctx) => {
        abortedAtStart = ctx.signal.aborted;
        const start = performance.now();
        // Keeps working (ignores the abort event) and only checks the signal between steps.
        while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 10));
        abortedAfter = performance.now() - start;
        throw ctx.signal.reason;
      },
      { softTimeLimit: 0.2 },
    );
    await h.startWorker();
    const r = await t.delay();
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('SoftTimeLimitExceeded');
    expect(err.remoteModule).toBe('billiard.exceptions');
    expect(err.remoteArgs).toEqual([]);
    // The limit is timed from before the function runs, so how long the function itself saw depends on the
    // machine's load: only that the signal fired while it worked, never before it began, is certain.
    expect(abortedAtStart).toBe(false);
    expect(abortedAfter).toBeGreaterThan(0);
    expect(await r.state()).toBe('FAILURE');
  });

  it('a soft limit given per call overrides the task (none here)', async () => {
    const h = testApp();
    const t = h.app.task('t.soft-call', async (ctx) => {
      while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 10));
      throw ctx.signal.reason;
    });
    await h.startWorker();
    const err = await rejection((await t.applyAsync([], { softTimeLimit: 0.1 })).get({ timeout: 5 }));
    expect(err.name).toBe('SoftTimeLimitExceeded');
  });

  it('a task that catches the soft limit may still succeed', async () => {
    const h = testApp();
    const t = h.app.task(
      't.soft-ok',
      async (ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        return 'cleaned up';
      },
      { softTimeLimit: 0.1 },
    );
    await h.startWorker();
    expect(await (await t.delay()).get({ timeout: 5 })).toBe('cleaned up');
  });

  it('hard timeLimit fails a hung task with TimeLimitExceeded while other tasks keep running', async () => {
    const h = testApp();
    const otherStarted = gate();
    const otherGo = gate();
    const hung = h.app.task('t.hung', () => new Promise<never>(() => {}), { timeLimit: 0.3 });
    const other = h.app.task('t.other', async () => {
      otherStarted.open();
      await otherGo.promise;
      return 'still here';
    });
    const w = await h.startWorker({ concurrency: 2 });
    const failed = nextEvent(w, 'task-failed');
    const rh = await hung.delay();
    const ro = await other.delay();
    await otherStarted.promise;
    const err = await rejection(rh.get({ timeout: 5 }));
    expect(err.name).toBe('TimeLimitExceeded');
    expect(err.remoteModule).toBe('billiard.exceptions');
    expect(err.remoteArgs).toEqual([0.3]);
    expect(err.traceback).toBeNull();
    expect((await failed)[0].id).toBe(rh.id);
    // The other task was running through it and finishes normally; the freed slot takes new work.
    expect(await ro.state()).toBe('PENDING');
    otherGo.open();
    expect(await ro.get({ timeout: 5 })).toBe('still here');
    const quick = h.app.task('t.after', () => 'next');
    expect(await (await quick.delay()).get({ timeout: 5 })).toBe('next');
  });
});
