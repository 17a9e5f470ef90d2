/**
 * Remote control against a Lovage worker: every command round-trips through the pidbox (request on the
 * fanout, reply to the requester's bound reply queue) and changes what it says it changes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SettingsStore, type Worker } from '../../src';
import { STATE_URL, useTestApps, waitFor } from '../helpers';

describe('remote control of a Lovage worker', () => {
  const createTestApp = useTestApps();

  async function setup(options: { concurrency?: number } = {}) {
    const t = createTestApp();
    const { app } = t;
    const gate: { open?: () => void } = {};
    const blocked = new Promise<void>((r) => (gate.open = r));
    app.task('ctl.add', (_ctx, a: number, b: number) => a + b, { rateLimit: '100/s' });
    app.task('ctl.block', async () => {
      await blocked;
      return 'done';
    });
    app.task('ctl.wait', async (ctx, ms: number) => {
      await sleep(ms, undefined, { signal: ctx.signal });
      return ms;
    });
    const worker = await t.startWorker({
      concurrency: options.concurrency ?? 2,
      hostname: `w-${t.queue}@test`,
    });
    return { ...t, worker, gate };
  }

  it('ping: the worker answers pong under its hostname', async () => {
    const { app, worker } = await setup();
    const replies = await app.control.ping({ timeout: 1 });
    expect(replies).toEqual([{ [worker.hostname]: { ok: 'pong' } }]);
  });

  it('only the destination answers; an unknown destination gets no reply', async () => {
    const { app, worker } = await setup();
    expect(await app.control.ping({ destination: [worker.hostname] })).toHaveLength(1);
    expect(await app.control.ping({ destination: ['nobody@nowhere'], timeout: 0.3 })).toEqual([]);
    expect(await app.control.ping({ pattern: 'w-*', timeout: 0.5 })).toHaveLength(1);
    expect(await app.control.ping({ pattern: 'zz*', timeout: 0.3 })).toEqual([]);
  });

  it('active, reserved, scheduled, query_task and stats describe what the worker holds', async () => {
    const { app, worker, gate } = await setup({ concurrency: 1 });
    const running = await app.sendTask('ctl.block', [], {}, { queue: worker.queues[0] });
    const waiting = await app.sendTask('ctl.add', [1, 2], {}, { queue: worker.queues[0] });
    const later = await app.sendTask('ctl.add', [3, 4], {}, { queue: worker.queues[0], countdown: 60 });
    await waitFor(
      () => worker.stats.active === 1 && worker.stats.ready === 1 && worker.stats.scheduled === 1,
      {
        what: 'one active, one reserved, one scheduled',
      },
    );
    const h = worker.hostname;
    const active = (await app.control.inspect('active', { destination: [worker.hostname] }))[h] as Array<
      Record<string, unknown>
    >;
    expect(active.map((t) => t.id)).toEqual([running.id]);
    expect(active[0]).toMatchObject({ name: 'ctl.block', acknowledged: true, hostname: h });
    expect(typeof active[0]!.time_start).toBe('number');
    const reserved = (await app.control.inspect('reserved', { destination: [worker.hostname] }))[h] as Array<
      Record<string, unknown>
    >;
    expect(reserved.map((t) => t.id)).toEqual([waiting.id]);
    expect(reserved[0]).toMatchObject({ args: [1, 2], time_start: null });
    const scheduled = (await app.control.inspect('scheduled', { destination: [worker.hostname] }))[
      h
    ] as Array<{ eta: string; request: { id: string } }>;
    expect(scheduled.map((s) => s.request.id)).toEqual([later.id]);
    expect(Date.parse(scheduled[0]!.eta)).toBeGreaterThan(Date.now() + 50_000);
    const query = (
      await app.control.inspect('query_task', {
        destination: [worker.hostname],
        args: { ids: [running.id, waiting.id] },
      })
    )[h];
    expect(query).toMatchObject({
      [running.id]: ['active', { id: running.id }],
      [waiting.id]: ['reserved', {}],
    });
    gate.open!();
    expect(await running.get({ timeout: 5 })).toBe('done');
    await waitFor(() => worker.processed >= 2, { what: 'both tasks done' });
    const stats = (await app.control.inspect('stats', { destination: [worker.hostname] }))[h] as {
      total: Record<string, number>;
      pool: Record<string, unknown>;
      pid: number;
      prefetch_count: number;
      lovage: Record<string, unknown>;
    };
    expect(stats.total).toMatchObject({ 'ctl.block': 1, 'ctl.add': 1 });
    expect(stats.pool['max-concurrency']).toBe(1);
    expect(stats.pid).toBe(process.pid);
    expect(stats.prefetch_count).toBe(4);
    expect(stats.lovage).toMatchObject({ pool: 'async', concurrency: 1 });
    await app.revoke(later.id);
  });

  it('registered, revoked, active_queues, conf and report', async () => {
    const { app, worker } = await setup();
    const h = worker.hostname;
    expect(
      ((await app.control.inspect('registered', { destination: [worker.hostname] }))[h] as string[]).sort(),
    ).toEqual(['ctl.add [rate_limit=100/s]', 'ctl.block', 'ctl.wait']);
    await app.control.revoke('some-task-id', { destination: [worker.hostname] });
    expect((await app.control.inspect('revoked', { destination: [worker.hostname] }))[h]).toContain(
      'some-task-id',
    );
    const queues = (await app.control.inspect('active_queues', { destination: [worker.hostname] }))[
      h
    ] as Array<{ name: string }>;
    expect(queues.map((q) => q.name)).toEqual(worker.queues);
    const conf = (await app.control.inspect('conf', { destination: [worker.hostname] }))[h] as Record<
      string,
      unknown
    >;
    expect(conf).toMatchObject({ worker_pool: 'async', worker_concurrency: 2 });
    const report = (await app.control.inspect('report', { destination: [worker.hostname] }))[h] as {
      ok: string;
    };
    expect(report.ok).toContain(`node -> ${h}`);
  });

  it('revoke with terminate stops a running task and replies with its id', async () => {
    const { app, worker } = await setup();
    const r = await app.sendTask('ctl.wait', [30_000], {}, { queue: worker.queues[0] });
    await waitFor(() => worker.stats.active === 1, { what: 'task running' });
    const replies = await app.control.revoke(r.id, { terminate: true, destination: [worker.hostname] });
    expect(replies).toEqual([{ [worker.hostname]: { ok: `terminate: ${r.id}` } }]);
    expect(await r.state()).toBe('REVOKED');
    expect(
      await app.control.revoke('not-running', { terminate: true, destination: [worker.hostname] }),
    ).toEqual([{ [worker.hostname]: { ok: 'terminate: tasks unknown' } }]);
  });

  it('rate_limit and time_limit change the task live; bad values and unknown tasks get an error reply', async () => {
    const { app, worker } = await setup();
    const h = worker.hostname;
    expect(await app.control.rateLimit('ctl.add', '1/s', { destination: [worker.hostname] })).toEqual([
      { [h]: { ok: 'new rate limit set successfully' } },
    ]);
    expect((await app.control.inspect('registered', { destination: [worker.hostname] }))[h]).toContain(
      'ctl.add [rate_limit=1/s]',
    );
    expect(await app.control.rateLimit('nope.task', '1/s', { destination: [worker.hostname] })).toEqual([
      { [h]: { error: 'unknown task' } },
    ]);
    expect(
      (await app.control.rateLimit('ctl.add', 'fast', { destination: [worker.hostname] }))[0]![h],
    ).toMatchObject({
      error: expect.stringContaining('Invalid rate limit'),
    });
    expect(
      await app.control.timeLimit('ctl.wait', { soft: 0.2, hard: 5 }, { destination: [worker.hostname] }),
    ).toEqual([{ [h]: { ok: 'time limits set successfully' } }]);
    const r = await app.sendTask('ctl.wait', [3000], {}, { queue: worker.queues[0] });
    await expect(r.get({ timeout: 5 })).rejects.toMatchObject({ name: 'SoftTimeLimitExceeded' });
    expect(
      (await app.control.timeLimit('ctl.wait', { soft: 5, hard: 1 }, { destination: [worker.hostname] }))[0]![
        h
      ],
    ).toMatchObject({
      error: expect.stringContaining('soft'),
    });
  });

  it('pool_grow and pool_shrink change live concurrency', async () => {
    const { app, worker } = await setup({ concurrency: 2 });
    const h = worker.hostname;
    expect(await app.control.poolGrow(3, { destination: [worker.hostname] })).toEqual([
      { [h]: { ok: 'pool will grow' } },
    ]);
    expect(worker.concurrency).toBe(5);
    // Five tasks now run at once.
    const rs = await Promise.all(
      Array.from({ length: 5 }, () => app.sendTask('ctl.wait', [400], {}, { queue: worker.queues[0] })),
    );
    await waitFor(() => worker.stats.active === 5, { what: 'five running at once' });
    await Promise.all(rs.map((r) => r.get({ timeout: 5 })));
    expect(await app.control.poolShrink(4, { destination: [worker.hostname] })).toEqual([
      { [h]: { ok: 'pool will shrink' } },
    ]);
    expect(worker.concurrency).toBe(1);
    expect((await app.control.poolShrink(1, { destination: [worker.hostname] }))[0]![h]).toMatchObject({
      error: expect.stringContaining('below 1'),
    });
    expect(
      (
        (await app.control.inspect('stats', { destination: [worker.hostname] }))[h] as {
          pool: Record<string, unknown>;
        }
      ).pool['max-concurrency'],
    ).toBe(1);
  });

  it('add_consumer and cancel_consumer change the queues consumed', async () => {
    const { app, worker } = await setup();
    const h = worker.hostname;
    const extra = `${worker.queues[0]}-extra`;
    const before = await app.sendTask('ctl.add', [2, 2], {}, { queue: extra });
    await sleep(300);
    expect(await before.state()).toBe('PENDING');
    expect(await app.control.addConsumer(extra, { destination: [worker.hostname] })).toEqual([
      { [h]: { ok: `add consumer ${extra}` } },
    ]);
    expect(await before.get({ timeout: 5 })).toBe(4);
    expect(await app.control.cancelConsumer(extra, { destination: [worker.hostname] })).toEqual([
      { [h]: { ok: `no longer consuming from ${extra}` } },
    ]);
    const after = await app.sendTask('ctl.add', [1, 1], {}, { queue: extra });
    await sleep(1500);
    expect(await after.state()).toBe('PENDING');
    expect(await app.broker.purge(extra)).toBe(1);
    expect(
      (await app.control.cancelConsumer(worker.queues[0]!, { destination: [worker.hostname] }))[0]![h],
    ).toMatchObject({
      error: expect.stringContaining('only queue'),
    });
  });

  it('an unknown command gets KeyError, as from Celery', async () => {
    const { app, worker } = await setup();
    expect(await app.control.broadcast('nosuchcmd', {}, { destination: [worker.hostname] })).toEqual([
      { [worker.hostname]: { error: "KeyError('nosuchcmd')" } },
    ]);
  });

  it('shutdown asks the worker to stop and sends no reply', async () => {
    const { app, worker } = await setup();
    const asked = new Promise<void>((r) => worker.once('shutdown-requested', () => r()));
    expect(await app.control.shutdown()).toEqual([]);
    await asked;
  });

  /** A worker at concurrency 2 that believes it runs stored version `version`, and the store it reads. */
  async function withSettings(
    version: number,
    body: (t: ReturnType<typeof createTestApp>, store: SettingsStore, worker: Worker) => Promise<void>,
  ) {
    const t = createTestApp();
    t.app.task('ctl.add', (_ctx, a: number, b: number) => a + b);
    // Its own client on the app's state store (the worker's settings source reads that one too).
    const store = new SettingsStore(STATE_URL, {
      prefix: t.app.config.brokerTransportOptions.globalKeyprefix,
    });
    try {
      const worker = await t.startWorker({
        concurrency: 2,
        settings: { concurrency: 2 },
        settingsSource: { store, version, pinned: [] },
      });
      await body(t, store, worker);
    } finally {
      await store.close();
    }
  }

  it('apply_settings applies live settings and reports the ones that need a restart', async () => {
    await withSettings(0, async (t, store, worker) => {
      const v = await store.save(
        { concurrency: 4, pool: 'threads', taskLimits: { 'ctl.add': { rateLimit: '5/m' } } },
        { expectedVersion: 0, updatedBy: 'ops@example.com' },
      );
      const replies = await t.app.control.applySettings(v.version, { destination: [worker.hostname] });
      expect(replies).toEqual([
        {
          [worker.hostname]: {
            ok: 'settings applied',
            version: 1,
            applied: expect.arrayContaining(['concurrency', 'taskLimits']),
            restartRequired: ['pool'],
            pinned: [],
          },
        },
      ]);
      expect(worker.concurrency).toBe(4);
      expect(worker.describe().settingsVersion).toBe(1);
      expect(
        (await t.app.control.inspect('registered', { destination: [worker.hostname] }))[worker.hostname],
      ).toContain('ctl.add [rate_limit=5/m]');
    });
  });

  it('apply_settings runs in version order: a slow apply never puts the worker back on an older version', async () => {
    await withSettings(0, async (t, store, worker) => {
      // Growing to 64 is slow (a prefork pool spawns 64 children); the next two saves resize at once.
      const resize = worker.pool.resize.bind(worker.pool);
      let growing = false;
      worker.pool.resize = async (n: number) => {
        if (n === 64) {
          growing = true;
          await sleep(300);
        }
        return resize(n);
      };
      const applied: (number | null)[] = [];
      worker.on('settings-applied', (r) => applied.push(r.version));
      const by = { updatedBy: 'ops@example.com' };
      await store.save({ concurrency: 64 }, { expectedVersion: 0, ...by });
      const first = t.app.control.applySettings(1, { destination: [worker.hostname] });
      await waitFor(() => growing, { what: 'the slow resize to start' });
      await store.save({ concurrency: 3 }, { expectedVersion: 1, ...by });
      const second = t.app.control.applySettings(2, { destination: [worker.hostname] });
      await store.save({ concurrency: 4 }, { expectedVersion: 2, ...by });
      const third = t.app.control.applySettings(3, { destination: [worker.hostname] });
      await Promise.all([first, second, third]);

      expect(worker.describe().settingsVersion).toBe(3);
      expect(worker.concurrency).toBe(4);
      expect(applied).toEqual([...applied].sort((a, b) => (a ?? 0) - (b ?? 0)));
      expect(applied.at(-1)).toBe(3);
    });
  });

  it('apply_settings never moves a worker to an older version than it runs', async () => {
    // The worker runs version 5; the store answers version 1 (a replica behind, or a store rebuilt).
    await withSettings(5, async (_t, store, worker) => {
      await store.save({ concurrency: 7 }, { expectedVersion: 0, updatedBy: 'ops@example.com' });
      const report = await worker.applySettings();
      expect(report).toMatchObject({ version: 5, applied: [] });
      expect(worker.concurrency).toBe(2);
    });
  });
});
