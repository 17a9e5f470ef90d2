/**
 * Stopping as users do: Ctrl-C on `npm start` (the terminal's SIGINT to its whole process group) and a
 * signal to `lovage monitor`. On the run's broker (support/broker.ts), results and the state store on the real
 * Redis, every test under its own key prefix and queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeEvents, EVENT_EXCHANGE, eventCommon, makeEvent, TaskIndex, type App } from '@lovage/runtime';
import { describe, expect, it, type TestContext } from 'vitest';
import { deleteMatching, deleteResults, waitFor } from '../../../packages/runtime/test/helpers';
import { BROKER, BROKER_ENV, namespacedApp, STATE } from './support/broker';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'apps/worker/bin/lovage.mjs');

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns a process group of its own, as a shell does for a foreground job; SIGKILLed after the test. */
function spawnGroup(ctx: TestContext, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, LOVAGE_LOG_FORMAT: 'json', ...env },
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  ctx.onTestFinished(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  });
  return { child, output: () => out, exited };
}

const STARTUP = { timeoutMs: 20_000 };

function namespaceFor(ctx: TestContext) {
  const id = randomUUID().slice(0, 8);
  const prefix = `lovage-stop-test-${id}:`;
  const queue = `stop-${id}`;
  const app = namespacedApp(prefix, queue);
  const results: string[] = [];
  ctx.onTestFinished(async () => {
    await app.broker.purge(queue).catch(() => undefined);
    await app.close();
    await deleteMatching(STATE, `${prefix}*`);
    await deleteResults(results);
  });
  return { prefix, queue, app, results, env: { LOVAGE_TEST_PREFIX: prefix, LOVAGE_TEST_QUEUE: queue } };
}

describe('Ctrl-C on the start script', () => {
  it('one SIGINT to its process group is a warm stop: the running task succeeds, every service exits 0', async (ctx) => {
    const ns = namespaceFor(ctx);
    const sup = spawnGroup(ctx, ['--import', 'tsx', 'apps/worker/test/fixtures/supervise.mts'], {
      ...ns.env,
      ...BROKER_ENV,
    });
    await waitFor(() => /monitor started/.test(sup.output()), { ...STARTUP, what: 'the monitor to start' });
    const app: App = ns.app;
    const result = await app.sendTask('cmd.slow', [1500]);
    ns.results.push(result.id);
    await waitFor(() => sup.output().includes('cmd.slow running'), { ...STARTUP, what: 'the task to start' });

    // What the terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-sup.child.pid!, 'SIGINT');

    await expect(result.get({ timeout: 20 })).resolves.toBe('finished');
    expect(await sup.exited, sup.output()).toBe(0);
    expect(sup.output()).toMatch(/^worker \| exited \(0\)$/m);
    expect(sup.output()).toMatch(/^monitor\| exited \(0\)$/m);
  });
});

describe('lovage monitor on a signal', () => {
  it.for(['SIGINT', 'SIGTERM'] as const)(
    'folds every event it received, then exits 0 (%s)',
    async (signal, ctx) => {
      const ns = namespaceFor(ctx);
      const mon = spawnGroup(ctx, [bin, 'monitor', '--broker', BROKER, '--key-prefix', ns.prefix], {
        LOVAGE_STATE_URL: STATE,
      });
      await waitFor(() => /monitor started/.test(mon.output()), { ...STARTUP, what: 'the monitor to start' });
      const ids = Array.from({ length: 5000 }, () => randomUUID());
      let clock = 0;
      for (let i = 0; i < ids.length; i += 100) {
        const batch = ids
          .slice(i, i + 100)
          .map((uuid) =>
            makeEvent('task-received', eventCommon('w@test', ++clock), { uuid, name: 'stop.t', args: '()' }),
          );
        await ns.app.broker.broadcast(EVENT_EXCHANGE, 'task.multi', encodeEvents(batch));
      }
      // Published (Redis has written them to the monitor's socket) before the signal is sent.
      mon.child.kill(signal);
      expect(await mon.exited, mon.output()).toBe(0);
      const index = new TaskIndex(STATE, { prefix: ns.prefix });
      try {
        const counts = await index.counts();
        expect(counts).toEqual({ RECEIVED: ids.length });
      } finally {
        await index.close();
      }
    },
  );
});
