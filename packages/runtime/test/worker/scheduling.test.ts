/** The worker against real Redis: ETA and countdown, expiry, revocation, rate limits and priorities. */
import { describe, expect, it } from 'vitest';
import { gate, nextEvent, useTestApps, rejection } from '../helpers';

const testApp = useTestApps();

describe('worker scheduling', () => {
  it('a countdown task does not block the others and does not run before its eta', async () => {
    const h = testApp();
    const finished: string[] = [];
    const ranAt = new Map<string, number>();
    const t = h.app.task('t.mark', (_ctx, label: string) => {
      ranAt.set(label, Date.now());
      finished.push(label);
      return label;
    });
    const w = await h.startWorker({ concurrency: 1, prefetchMultiplier: 4 });
    const received = nextEvent(w, 'task-received', (req) => req.args[0] === 'later');
    const before = Date.now();
    const later = await t.applyAsync(['later'], { countdown: 2 });
    const now = [];
    for (let i = 0; i < 5; i++) now.push(await t.delay(`now-${i}`));
    await Promise.all(now.map((r) => r.get({ timeout: 5 })));
    expect(await later.state()).toBe('PENDING');
    expect(await later.get({ timeout: 5 })).toBe('later');
    expect(finished).toEqual(['now-0', 'now-1', 'now-2', 'now-3', 'now-4', 'later']);
    // The countdown became an eta at send time, and the task did not start before it (timers may fire a
    // millisecond early).
    const eta = (await received)[0].eta!.getTime();
    expect(eta - before).toBeGreaterThanOrEqual(2000);
    expect(ranAt.get('later')!).toBeGreaterThanOrEqual(eta - 5);
  });

  it('a task whose expiry has passed is REVOKED and never runs', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task('t.expiring', () => ++calls);
    const w = await h.startWorker();
    const revoked = nextEvent(w, 'task-revoked');
    const r = await t.applyAsync([], { expires: new Date(Date.now() - 1000) });
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('TaskRevokedError');
    expect(err.message).toBe('expired');
    expect((await revoked)[1].reason).toBe('expired');
    expect(await r.state()).toBe('REVOKED');
    // The same task without an expiry runs: the worker was able to run it.
    expect(await (await t.delay()).get({ timeout: 5 })).toBe(1);
    expect(calls).toBe(1);
  });

  it('an eta task that expires before its eta is REVOKED at the eta', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task('t.eta-expiring', () => ++calls);
    await h.startWorker();
    const r = await t.applyAsync([], { countdown: 0.4, expires: 0.1 });
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.message).toBe('expired');
    expect(calls).toBe(0);
  });

  it('a task revoked before any worker started is not run by a worker started later', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task('t.revoked', () => ++calls);
    const r = await t.delay();
    await r.revoke();
    const control = await t.delay();
    const w = h.worker();
    const revoked = nextEvent(w, 'task-revoked');
    await w.start();
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('TaskRevokedError');
    expect(err.message).toBe('revoked');
    const [req, ev] = await revoked;
    expect([req.id, ev.reason]).toEqual([r.id, 'revoked']);
    expect(await control.get({ timeout: 5 })).toBe(1);
    expect(calls).toBe(1);
  });

  it('revoke of a waiting eta task reaches a running worker', async () => {
    const h = testApp();
    let calls = 0;
    const t = h.app.task('t.eta-revoked', () => ++calls);
    const w = await h.startWorker();
    const received = nextEvent(w, 'task-received');
    const r = await t.applyAsync([], { countdown: 0.5 });
    await received;
    await r.revoke();
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.message).toBe('revoked');
    expect(calls).toBe(0);
  });

  it('a held eta task 10 minutes away is REVOKED as soon as the revoke arrives, not at its eta', async () => {
    const h = testApp();
    const t = h.app.task('t.far-eta', () => 'ran');
    const w = await h.startWorker();
    const received = nextEvent(w, 'task-received');
    // Held on either broker: within half of RabbitMQ's default consumer timeout (further ones are parked).
    const r = await t.applyAsync([], { countdown: 600 });
    await received;
    expect(w.stats.scheduled).toBe(1);
    await r.revoke();
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.message).toBe('revoked');
    expect(w.stats.scheduled).toBe(0);
  });

  it('revoke with terminate stops a running task that waits on its signal: REVOKED', async () => {
    const h = testApp();
    const started = gate();
    let abortReason: unknown;
    const t = h.app.task('t.long', async (ctx) => {
      started.open();
      await new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          abortReason = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        });
      });
    });
    const w = await h.startWorker();
    const revoked = nextEvent(w, 'task-revoked');
    const r = await t.delay();
    await started.promise;
    await r.revoke({ terminate: true });
    const err = await rejection(r.get({ timeout: 5 }));
    expect(err.name).toBe('TaskRevokedError');
    expect(err.message).toBe('terminated');
    expect(await r.state()).toBe('REVOKED');
    expect((await revoked)[1].reason).toBe('terminated');
    expect((abortReason as Error).name).toBe('TaskRevokedError');
  });

  it("rateLimit '5/s' spaces the tasks of one worker", async () => {
    const h = testApp();
    const starts: number[] = [];
    const limited = h.app.task(
      't.limited',
      (_ctx, i: number) => {
        starts.push(performance.now());
        return i;
      },
      { rateLimit: '5/s' },
    );
    const w = await h.startWorker({ concurrency: 4 });
    const done: number[] = [];
    w.on('task-succeeded', (req) => {
      if (req.name === 't.limited') done.push(performance.now());
    });
    const rs = [];
    for (let i = 0; i < 3; i++) rs.push(await limited.delay(i));
    expect(await Promise.all(rs.map((r) => r.get({ timeout: 5 })))).toEqual([0, 1, 2]);
    expect(starts).toHaveLength(3);
    expect(done).toHaveLength(3);
    // One token every 200 ms, although four slots are free: the third task starts ~400 ms after the first.
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(350);
    expect(done[2]! - done[0]!).toBeGreaterThanOrEqual(300);
  });

  it('the priority the broker serves first runs first (Redis: 0, AMQP: the highest), FIFO within each', async () => {
    const h = testApp();
    const order: string[] = [];
    const t = h.app.task('t.prio', (_ctx, label: string) => {
      order.push(label);
    });
    const [first, second] = h.app.broker.capabilities.priorityOrder === 'low-first' ? [0, 9] : [9, 0];
    const rs = [];
    for (const i of [1, 2, 3]) rs.push(await t.applyAsync([`low-${i}`], { priority: second }));
    for (const i of [1, 2, 3]) rs.push(await t.applyAsync([`high-${i}`], { priority: first }));
    await h.startWorker({ concurrency: 1 });
    await Promise.all(rs.map((r) => r.get({ timeout: 5 })));
    expect(order).toEqual(['high-1', 'high-2', 'high-3', 'low-1', 'low-2', 'low-3']);
  });
});
