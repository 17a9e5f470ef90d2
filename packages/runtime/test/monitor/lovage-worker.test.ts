/**
 * A Lovage worker with task events on, a Monitor and the index, end to end: what the console reads about a
 * success, a failure and a retried task comes from the worker's events, including the arguments as JSON that
 * the console's Retry re-sends, the queue, and the worker's settings in its heartbeat.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEvent, EVENT_EXCHANGE, Monitor, TaskIndex, taskSentEvent, toCeleryIso } from '../../src';
import { STATE_URL, useTestApps, waitFor, type TestApp } from '../helpers';

describe('a Lovage worker feeding the task-state index', () => {
  const testApp = useTestApps();
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  /** A running Monitor on the test app's events and the index it folds them into. */
  async function watch(t: TestApp): Promise<{ index: TaskIndex; monitor: Monitor }> {
    const index = new TaskIndex(STATE_URL, { prefix: t.prefix });
    const monitor = new Monitor(t.app, {});
    await monitor.start();
    stops.push(
      () => monitor.stop(),
      () => index.close(),
    );
    return { index, monitor };
  }

  it('indexes states, results, exceptions, queue, JSON arguments and the worker', async () => {
    const t = testApp({ taskSendSentEvent: true });
    t.app.task('mon.add', (_ctx, a: number, b: number) => a + b);
    t.app.task('mon.fail', (_ctx, why: string) => {
      throw new TypeError(why);
    });
    t.app.task(
      'mon.flaky',
      (ctx) => {
        if (ctx.retries < 1) ctx.retry({ countdown: 0.05 });
        return 'ok';
      },
      { maxRetries: 2 },
    );
    const { index } = await watch(t);
    const worker = await t.startWorker({ taskEvents: true, hostname: `mon-${t.queue}@test` });

    const ok = t.track(await t.app.sendTask('mon.add', [2, 3], { extra: 1 }));
    const bad = t.track(await t.app.sendTask('mon.fail', ['no good']));
    const flaky = t.track(await t.app.sendTask('mon.flaky', []));
    await ok.get({ timeout: 5 });
    await bad.get({ timeout: 5 }).catch(() => undefined);
    await flaky.get({ timeout: 5 });

    const done = await waitFor(
      async () => {
        const [a, b, c] = await Promise.all([index.get(ok.id), index.get(bad.id), index.get(flaky.id)]);
        return a?.state === 'SUCCESS' && b?.state === 'FAILURE' && c?.state === 'SUCCESS'
          ? { a, b, c }
          : undefined;
      },
      { what: 'three final states in the index' },
    );
    expect(done.a).toMatchObject({
      name: 'mon.add',
      args: '(2, 3)',
      kwargs: "{'extra': 1}",
      result: '5',
      worker: worker.hostname,
      queue: t.queue,
      argsJson: '[2,3]',
      kwargsJson: '{"extra":1}',
    });
    expect(done.a.timestamps.started).toBeGreaterThan(0);
    expect(done.b).toMatchObject({ exception: "TypeError('no good')", argsJson: '["no good"]' });
    expect(done.b.traceback).toContain('no good');
    expect(done.c.retries).toBe(1);

    const workers = await waitFor(
      async () => (await index.workers()).find((w) => w.hostname === worker.hostname),
      { what: 'the worker in the index' },
    );
    expect(workers).toMatchObject({ alive: true, swIdent: 'lovage' });
    expect(workers.extra.lovage).toMatchObject({ pool: 'async', concurrency: 4, settingsVersion: null });
  });

  it('with taskSendSentEvent, a task is in the index as PENDING from the moment it is sent', async () => {
    const t = testApp({ taskSendSentEvent: true });
    const quiet = testApp();
    const { index } = await watch(t);
    // No worker consumes the queue: only the client's event can put the task in the index.
    const eta = new Date(Date.now() + 3_600_000);
    const sent = await t.app.sendTask(
      'mon.later',
      [1, 'a'],
      { k: true },
      { eta, parentId: 'p-1', rootId: 'r-1', group: 'g-1' },
    );
    const row = await waitFor(async () => (await index.get(sent.id)) ?? undefined, {
      what: 'the sent task in the index',
    });
    expect(row).toMatchObject({
      name: 'mon.later',
      state: 'PENDING',
      args: "(1, 'a')",
      kwargs: "{'k': True}",
      queue: t.queue,
      parentId: 'p-1',
      rootId: 'r-1',
      group: 'g-1',
      worker: null,
    });
    expect(await index.groupMembers('g-1', 10)).toMatchObject({ total: 1, items: [{ id: sent.id }] });
    expect((await index.workflow('r-1', 10)).total).toBe(1);
    expect(row.eta).toBe(toCeleryIso(eta));

    // An app without the option sends no event: its task stays out of the index (under its own prefix,
    // watched by a monitor of its own).
    const { index: quietIndex, monitor: quietMonitor } = await watch(quiet);
    const silent = await quiet.app.sendTask('mon.later', [2]);
    // A marker published after it on the same connection: once it is folded, any event of the task would be.
    const marker = taskSentEvent({
      id: 'marker',
      name: 'mon.marker',
      args: [],
      kwargs: {},
      queue: quiet.queue,
      hostname: 'test',
    });
    await quiet.app.broker.broadcast(EVENT_EXCHANGE, 'task.sent', encodeEvent(marker));
    // The monitor counts a batch just after writing it: wait for both.
    await waitFor(async () => quietMonitor.stats.processed > 0 && (await quietIndex.get('marker')) !== null, {
      what: 'the marker folded and counted',
    });
    expect(await quietIndex.get(silent.id)).toBeNull();
    expect(quietMonitor.stats.processed).toBe(1);
  });

  it("files a group member under its group from the worker's task-received, without a task-sent", async () => {
    const t = testApp();
    t.app.task('mon.member', (_ctx, n: number) => n * 2);
    const { index } = await watch(t);
    await t.startWorker({ taskEvents: true, hostname: `grp-${t.queue}@test` });
    const group = `g-${t.queue}`;
    const members = await Promise.all(
      [1, 2].map((n, i) =>
        t.app.sendTask(
          'mon.member',
          [n],
          {},
          { group, groupIndex: i, rootId: 'wf-root', parentId: 'wf-root' },
        ),
      ),
    );
    await Promise.all(members.map((m) => t.track(m).get({ timeout: 5 })));
    const page = await waitFor(
      async () => {
        const p = await index.groupMembers(group, 10);
        return p.total === 2 && p.items.every((r) => r.state === 'SUCCESS') ? p : undefined;
      },
      { what: 'both members in the group, finished' },
    );
    expect(page.items.map((r) => r.id).sort()).toEqual(members.map((m) => m.id).sort());
    expect(page.items[0]).toMatchObject({ group, rootId: 'wf-root', parentId: 'wf-root' });
    expect((await index.workflow('wf-root', 10)).total).toBe(2);
  });
});
