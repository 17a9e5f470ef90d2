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
  it('three beats for 20 s, the leader stopped half-way: each 1-second run sent once, none missed', async () => {
    const ns = namespace();
    const sent: { due: number; by: number; missed: number }[] = [];
    const beats = [0, 1, 2].map((i) => {
      const beat = new Beat(ns.open(), { leaseTtl: 1.5, name: `beat${i}` });
      beat.on('sent', ({ due, missed }) => sent.push({ due, by: i, missed }));
      return beat;
    });
    await Promise.all(beats.map((b) => b.start()));
    await sleep(10_000);
    const leader = beats.find((b) => b.isLeader)!;
    expect(beats.filter((b) => b.isLeader)).toHaveLength(1);
    await leader.stop();
    await sleep(10_000);
    await Promise.all(beats.map((b) => b.stop()));

    const dues = sent.map((s) => s.due);
    expect(dues.length).toBeGreaterThanOrEqual(18);
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
  }, 40_000);
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
