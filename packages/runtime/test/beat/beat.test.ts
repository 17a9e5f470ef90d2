/**
 * Beats on the run's broker, the state store on the real Redis: several beats in one process (each its own
 * app and connections, as separate processes would have), every test under its own prefix and queue.
 * Killed processes and restarts are in apps/worker/test/beat.test.ts; the lease and claim scripts in the
 * state conformance suite (src/testing/state-conformance.ts).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Beat, createApp, type App } from '../../src';
import { BACKEND_URL, BROKER_URL, deleteMatching, silentLogger, STATE_URL, waitFor } from '../helpers';

const apps: App[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(prefixes.splice(0).map((p) => deleteMatching(STATE_URL, `${p}*`)));
});

/** A namespace (prefix, queue) and a way to open apps on it, each with a 1-second schedule. */
function namespace() {
  const prefix = `test-${randomUUID()}:`;
  const queue = `beat-${randomUUID()}`;
  prefixes.push(prefix);
  const open = () => {
    const app = createApp({
      broker: BROKER_URL,
      backend: BACKEND_URL,
      state: STATE_URL,
      defaultQueue: queue,
      brokerTransportOptions: { globalKeyprefix: prefix },
      beatSchedule: { tick: { task: 'beat.tick', schedule: 1, args: [1] } },
      logger: silentLogger(),
    });
    apps.push(app);
    return app;
  };
  return { prefix, queue, open };
}

describe('several beats', () => {
  it('a minute of beats, three then two (the leader stopped half-way): each 1-second run sent once, none missed', async () => {
    const ns = namespace();
    const sent: { due: number; by: number; missed: number }[] = [];
    const beats = [0, 1, 2].map((i) => {
      const beat = new Beat(ns.open(), { leaseTtl: 1.5, name: `beat${i}` });
      beat.on('sent', ({ due, missed }) => sent.push({ due, by: i, missed }));
      return beat;
    });
    await Promise.all(beats.map((b) => b.start()));
    await sleep(30_000);
    const leader = beats.find((b) => b.isLeader)!;
    expect(beats.filter((b) => b.isLeader)).toHaveLength(1);
    await leader.stop();
    await sleep(30_000);
    await Promise.all(beats.map((b) => b.stop()));

    const dues = sent.map((s) => s.due);
    // The first run is one interval after the start (as Celery's), so 59 in a minute.
    expect(dues.length).toBeGreaterThanOrEqual(58);
    expect(new Set(dues).size).toBe(dues.length);
    // No run stood in for missed ones: the standby took over before the next due time.
    expect(sent.filter((s) => s.missed > 0)).toEqual([]);
    const sorted = [...dues].sort((a, b) => a - b);
    expect(sorted.slice(1).map((d, i) => d - sorted[i]!)).toEqual(sorted.slice(1).map(() => 1000));
    // The handover happened: runs from two beats, and the broker holds exactly the runs sent.
    expect(new Set(sent.map((s) => s.by)).size).toBe(2);
    expect(await apps[0]!.broker.queueLength(ns.queue)).toBe(dues.length);
    const stored = await apps[0]!.state.beat.read('tick');
    expect(stored).toMatchObject({ schedule: 'every 1s', next: sorted.at(-1)! + 1000 });
  }, 90_000);
});

describe('the lease', () => {
  it('a leader whose lease another beat took sends nothing more', async () => {
    const ns = namespace();
    const app = ns.open();
    const beat = new Beat(app, { leaseTtl: 30 });
    let sent = 0;
    beat.on('sent', () => sent++);
    await beat.start();
    expect(beat.isLeader).toBe(true);
    await waitFor(() => sent >= 2, { timeoutMs: 5000, what: 'two runs' });
    // The lease taken away, as if it had expired while this beat was paused and another took it.
    const other = ns.open().state.beat;
    const { Redis } = await import('ioredis');
    const redis = new Redis(STATE_URL);
    await redis.set(`${ns.prefix}lovage:beat:lease`, 'intruder', 'PX', 30_000);
    redis.disconnect();
    expect(await other.holder()).toBe('intruder');
    await waitFor(() => !beat.isLeader, { timeoutMs: 15_000, what: 'the beat to stand by' });
    const after = sent;
    await sleep(2500);
    expect(sent).toBe(after);
    await beat.stop();
    // Stopping released nothing that was not its own.
    expect(await other.holder()).toBe('intruder');
  }, 30_000);

  it('refuses an entry whose task looks like a typo of a registered one', () => {
    const app = createApp({
      broker: BROKER_URL,
      state: STATE_URL,
      beatSchedule: { nightly: { task: 'reports.sendd', schedule: 60 } },
      logger: silentLogger(),
    });
    apps.push(app);
    app.task('reports.send', () => 1);
    expect(() => new Beat(app)).toThrow(
      /at beatSchedule\.nightly\.task: unknown task reports\.sendd \(did you mean reports\.send\?\)/,
    );
  });
});

describe('entries defined in the console', () => {
  /** A running leader on a namespace with a 1-second code entry, its sends collected by entry name. */
  async function running(register?: (app: App) => void) {
    const ns = namespace();
    const app = ns.open();
    register?.(app);
    const beat = new Beat(app, { leaseTtl: 1.5 });
    const sent: { entry: string; taskId: string; missed: number }[] = [];
    beat.on('sent', (s) => sent.push(s));
    const loads: string[][] = [];
    beat.on('loaded', (names) => loads.push(names));
    await beat.start();
    return { ns, app, beat, sent, loads, store: app.state.beat };
  }
  const every = (seconds: number, task = 'beat.console') => ({
    task,
    schedule: seconds,
    args: [7],
    kwargs: {},
    options: {},
    timezone: 'UTC',
  });

  it('beat publishes its code entries; a console entry may not take their names', async () => {
    const { store, beat, ns } = await running((app) =>
      app.task('beat.routed', () => 1, { queue: 'reports' }),
    );
    const defs = await store.definitions();
    expect(defs.tick).toMatchObject({
      source: 'code',
      definition: { task: 'beat.tick', schedule: 1, args: [1], timezone: 'UTC' },
    });
    // Where the app routes: its default queue, the queue of each task it registers.
    expect(await store.routes()).toEqual({ defaultQueue: ns.queue, tasks: { 'beat.routed': 'reports' } });
    expect(await store.define('tick', 'create', every(1), 'ann@example.com')).toBe('code');
    expect((await store.definitions()).tick?.source).toBe('code');
    await beat.stop();
  });

  it('a console entry reaches the running beat within a tick, runs, and keeps its history', async () => {
    const { store, beat, sent, loads } = await running();
    const asked = Date.now();
    expect(await store.define('nightly', 'create', every(1), 'ann@example.com')).toBe('ok');
    await waitFor(() => sent.some((s) => s.entry === 'nightly'), { timeoutMs: 5000, what: 'a console run' });
    // Within a second for the beat to read it (a third of the lease) plus its first interval.
    expect(Date.now() - asked).toBeLessThan(3500);
    expect(loads.at(-1)).toEqual(['tick', 'nightly']);
    const ids = sent.filter((s) => s.entry === 'nightly').map((s) => s.taskId);
    await waitFor(async () => ((await store.history('nightly')).length >= ids.length ? true : undefined), {
      what: 'the history',
    });
    const [last] = await store.history('nightly');
    expect(last).toMatchObject({ taskId: ids.at(-1), by: 'beat', missed: 0 });
    expect(last!.sent).toBeGreaterThanOrEqual(last!.due);
    await beat.stop();
  }, 15_000);

  it('a disabled entry sends nothing; enabled again it sends one run for the missed ones, no burst', async () => {
    const { store, beat, sent, loads } = await running();
    await waitFor(() => sent.length >= 1, { timeoutMs: 5000, what: 'a first run' });
    expect(await store.setEnabled('tick', false)).toBe(true);
    await waitFor(() => loads.some((l) => l.length === 0), { timeoutMs: 3000, what: 'the reload' });
    const before = sent.length;
    await sleep(3500);
    expect(sent.length).toBe(before);
    expect(await store.setEnabled('tick', true)).toBe(true);
    await waitFor(() => sent.length > before, { timeoutMs: 3000, what: 'a run after re-enabling' });
    await sleep(300);
    // One run stood for the three or so missed (beatMissedRuns 'once'); then the schedule as before.
    const resumed = sent.slice(before);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.missed).toBeGreaterThanOrEqual(2);
    await beat.stop();
  }, 20_000);

  it('an edit takes over the timing and a delete stops the entry, without a restart', async () => {
    const { store, beat, sent } = await running();
    expect(await store.define('often', 'create', every(1), 'ann@example.com')).toBe('ok');
    await waitFor(() => sent.some((s) => s.entry === 'often'), { timeoutMs: 5000, what: 'a run' });
    expect(await store.define('often', 'update', every(3600), 'bob@example.com')).toBe('ok');
    await sleep(1200);
    const afterEdit = sent.filter((s) => s.entry === 'often').length;
    await sleep(2000);
    expect(sent.filter((s) => s.entry === 'often').length).toBe(afterEdit);
    expect((await store.entries()).often).toMatchObject({ schedule: 'every 3600s' });
    expect(await store.define('often', 'delete', null, 'bob@example.com')).toBe('ok');
    expect((await store.entries()).often).toBeUndefined();
    await beat.stop();
  }, 15_000);
});
