/**
 * `lovage beat` as processes: killed with SIGKILL and restarted, stopped with SIGTERM. On the run's broker
 * (support/broker.ts), the state store on the real Redis, each test under its own prefix and queue. Runs are
 * read from the beats' JSON logs (`beat sent a run`, with the due time) and counted on the broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { describe, expect, it, type TestContext } from 'vitest';
import { deleteMatching, waitFor } from '../../../packages/runtime/test/helpers';
import { BROKER_ENV, namespacedApp, STATE } from './support/broker';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'apps/worker/bin/lovage.mjs');

interface BeatProc {
  child: ChildProcess;
  /** The runs this process sent, in order: due time and when the log line was written. */
  runs: () => { due: number; time: number; missed: number }[];
  output: () => string;
  exited: Promise<number | null>;
}

function namespace(ctx: TestContext) {
  const id = randomUUID().slice(0, 8);
  const prefix = `lovage-beat-test-${id}:`;
  const queue = `beat-${id}`;
  const app = namespacedApp(prefix, queue);
  ctx.onTestFinished(async () => {
    await app.broker.purge(queue).catch(() => undefined);
    await app.close();
    await deleteMatching(STATE, `${prefix}*`);
  });
  const spawnLovage = (
    args = ['beat', '-A', 'apps/worker/test/fixtures/beat-app.ts', '--lease-ttl', '2'],
  ): BeatProc => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: {
        ...process.env,
        ...BROKER_ENV,
        LOVAGE_LOG_FORMAT: 'json',
        LOVAGE_TEST_PREFIX: prefix,
        LOVAGE_TEST_QUEUE: queue,
      },
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    ctx.onTestFinished(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    const runs = () => {
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; due: number; time: number; missed: number });
      return lines
        .filter((l) => l.msg === 'beat sent a run')
        .map(({ due, time, missed }) => ({ due, time, missed }));
    };
    return { child, runs, output: () => out, exited };
  };
  return { prefix, queue, app, spawnLovage };
}

const STARTUP = { timeoutMs: 20_000, what: 'the first run' };

describe('lovage beat', () => {
  it('killed (SIGKILL) and restarted: one run for the missed ones on recovery, then on time', async (ctx) => {
    const ns = namespace(ctx);
    const first = ns.spawnLovage();
    await waitFor(() => first.runs().length >= 3, STARTUP);
    first.child.kill('SIGKILL');
    await first.exited;
    const before = first.runs();
    const lastDue = before.at(-1)!.due;
    // Down for about 4 s (the lease, 2 s, outlives the process), then a new beat.
    await sleep(4000);
    const second = ns.spawnLovage();
    await waitFor(() => second.runs().length >= 4, STARTUP);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const after = second.runs();
    // The recovery run: the first missed due time, flagged, one only (no burst for the ~5 missed).
    expect(after[0]).toMatchObject({ due: lastDue + 1000 });
    expect(after[0]!.missed).toBeGreaterThanOrEqual(3);
    // Then on time, on the same 1-second grid: each next due time is within a second of the recovery run.
    const next = after.slice(1).map((r) => r.due);
    expect(next[0]! - after[0]!.time).toBeLessThanOrEqual(1000);
    expect(next[0]! - after[0]!.time).toBeGreaterThan(0);
    expect((next[0]! - lastDue) % 1000).toBe(0);
    expect(next.slice(1).map((d, i) => d - next[i]!)).toEqual(next.slice(1).map(() => 1000));
    expect(after.slice(1).every((r) => r.missed === 0)).toBe(true);
    // Nothing was sent twice: the broker holds exactly the runs both logged.
    expect(await ns.app.broker.queueLength(ns.queue)).toBe(before.length + after.length);
  }, 60_000);

  it('two beats: SIGTERM on the leader releases the lease and the other goes on without a gap', async (ctx) => {
    const ns = namespace(ctx);
    const a = ns.spawnLovage();
    await waitFor(() => a.runs().length >= 2, STARTUP);
    const b = ns.spawnLovage();
    await waitFor(() => /beat starting/.test(b.output()), STARTUP);
    await sleep(2500);
    expect(b.runs()).toEqual([]);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await waitFor(() => b.runs().length >= 3, { timeoutMs: 10_000, what: 'runs from the standby' });
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    // The lease is gone, not left to expire.
    expect(await ns.app.state.beat.holder()).toBeNull();

    const runs = [...a.runs(), ...b.runs()];
    expect(runs.filter((r) => r.missed > 0)).toEqual([]);
    const dues = runs.map((r) => r.due);
    expect(new Set(dues).size).toBe(dues.length);
    expect(dues.slice(1).map((d, i) => d - dues[i]!)).toEqual(dues.slice(1).map(() => 1000));
    expect(await ns.app.broker.queueLength(ns.queue)).toBe(dues.length);
  }, 60_000);

  it('lovage worker -B runs beat in the worker: the runs it sends are run there; SIGTERM releases the lease', async (ctx) => {
    const ns = namespace(ctx);
    const worker = ns.spawnLovage([
      'worker',
      '-B',
      '-A',
      'apps/worker/test/fixtures/beat-app.ts',
      '-P',
      'async',
      '-c',
      '1',
    ]);
    await waitFor(() => worker.runs().length >= 2, STARTUP);
    await waitFor(async () => (await ns.app.broker.queueLength(ns.queue)) === 0, {
      timeoutMs: 5000,
      what: 'the worker to take the runs',
    });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await ns.app.state.beat.holder()).toBeNull();
  }, 60_000);
});
