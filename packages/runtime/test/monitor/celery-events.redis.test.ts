/**
 * Interop: a real Celery 5.2.6 worker started with -E (Debian's /usr/bin/python3, tasks from
 * ../interop/py/pytasks.py) sends its events on Redis; a Lovage Monitor folds them into a TaskIndex.
 * A success and a failure show up with their states, result or exception, and the worker's hostname, and
 * the worker is listed (alive, then offline after it stops).
 *
 * Isolation: one globalKeyprefix (passed to Python as broker_transport_options.global_keyprefix) and one
 * queue for this file; result keys (never prefixed) are deleted by task id. The Python process is killed in
 * afterAll, also when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, encodeEvent, EVENT_EXCHANGE, Monitor, taskSentEvent, type AsyncResult } from '../../src';
import { BACKEND_URL, REDIS_URL, deleteMatching, deleteResults, waitFor } from '../helpers';

const PYTHON = '/usr/bin/python3'; // the python3 on PATH has no celery
const PY_DIR = fileURLToPath(new URL('../interop/py/', import.meta.url));
const PREFIX = `test-celery-events-${randomUUID().slice(0, 8)}:`;
const QUEUE = `test-events-${randomUUID().slice(0, 8)}`;
const HOSTNAME = `celery-events-${randomUUID().slice(0, 8)}@localhost`;

const app = createApp({
  broker: REDIS_URL,
  backend: BACKEND_URL,
  brokerTransportOptions: { globalKeyprefix: PREFIX },
  logger: pino({ level: 'silent' }),
});
const monitor = new Monitor(app, { wakeWorkers: false });
const taskIds = new Set<string>();
let worker: ChildProcess | null = null;
let stderr = '';

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** Sends a task to the Celery worker and announces it with task-sent, as a Celery client would. */
async function send(name: string, args: unknown[]): Promise<AsyncResult> {
  const r = await app.sendTask(name, args, {}, { queue: QUEUE });
  taskIds.add(r.id);
  const sent = taskSentEvent({ id: r.id, name, args, kwargs: {}, queue: QUEUE, hostname: app.origin });
  await app.broker.broadcast(EVENT_EXCHANGE, 'task.sent', encodeEvent(sent));
  return r;
}

beforeAll(async () => {
  await monitor.start();
  worker = spawn(
    PYTHON,
    [
      '-m',
      'celery',
      '-A',
      'pytasks',
      'worker',
      '-E',
      '-Q',
      QUEUE,
      '-n',
      HOSTNAME,
      '--pool',
      'solo',
      '--loglevel',
      'warning',
      '--without-mingle',
      '--without-gossip',
    ],
    {
      cwd: PY_DIR,
      env: {
        ...process.env,
        LOVAGE_BROKER: REDIS_URL,
        LOVAGE_BACKEND: BACKEND_URL,
        LOVAGE_PREFIX: PREFIX,
        PYTHONPATH: PY_DIR,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONUNBUFFERED: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  worker.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const died = exited(worker).then(() => {
    throw new Error(`celery worker exited early:\n${stderr}`);
  });
  await Promise.race([
    waitFor(async () => (await monitor.index.workers()).some((w) => w.hostname === HOSTNAME), {
      timeoutMs: 25_000,
      what: `worker-online from ${HOSTNAME}`,
    }),
    died,
  ]);
}, 40_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGKILL');
    await exited(worker);
  }
  await monitor.stop();
  await app.close();
  await deleteMatching(REDIS_URL, `${PREFIX}*`);
  await deleteResults(taskIds);
});

describe('Celery 5.2.6 worker -E -> Lovage Monitor -> TaskIndex', () => {
  it('shows a success and a failure with their results, exception and worker', async () => {
    const ok = await send('py.add', [2, 3]);
    const bad = await send('py.fail', ['boom']);
    expect(await ok.get({ timeout: 20 })).toBe(5);
    await expect(bad.get({ timeout: 20 })).rejects.toThrow();

    const index = monitor.index;
    const success = await waitFor(
      async () => {
        const r = await index.get(ok.id);
        return r?.state === 'SUCCESS' && r;
      },
      { timeoutMs: 10_000, what: 'the success in the index' },
    );
    expect(success).toMatchObject({
      name: 'py.add',
      args: '(2, 3)',
      kwargs: '{}',
      result: '5',
      worker: HOSTNAME,
      queue: QUEUE,
      retries: 0,
      rootId: ok.id,
      parentId: null,
    });
    expect(success.runtime).toBeGreaterThanOrEqual(0);
    expect(success.timestamps).toEqual({
      sent: expect.any(Number),
      received: expect.any(Number),
      started: expect.any(Number),
      succeeded: expect.any(Number),
    });
    expect(Math.abs(success.updatedAt - Date.now())).toBeLessThan(60_000);

    const failure = await waitFor(
      async () => {
        const r = await index.get(bad.id);
        return r?.state === 'FAILURE' && r;
      },
      { timeoutMs: 10_000, what: 'the failure in the index' },
    );
    expect(failure).toMatchObject({
      name: 'py.fail',
      args: "('boom',)",
      exception: "ValueError('boom')",
      worker: HOSTNAME,
      queue: QUEUE,
    });
    expect(failure.traceback).toContain('ValueError: boom');

    expect((await index.list({ worker: HOSTNAME }, { offset: 0, limit: 10 })).total).toBe(2);
    expect(await index.counts()).toEqual({ SUCCESS: 1, FAILURE: 1 });
    expect(await index.taskNames()).toEqual(['py.add', 'py.fail']);
  });

  it('lists the Celery worker: alive with Celery figures, then offline after it stops', async () => {
    const index = monitor.index;
    const w = (await index.workers()).find((x) => x.hostname === HOSTNAME)!;
    expect(w).toMatchObject({ alive: true, swIdent: 'py-celery', swVer: '5.2.6', freq: 2, extra: {} });
    expect(w.pid).toBeGreaterThan(0);
    expect(w.loadavg).toHaveLength(3);
    expect(Math.abs(w.lastHeartbeat! - Date.now())).toBeLessThan(10_000);
    await waitFor(
      async () => ((await index.workers()).find((x) => x.hostname === HOSTNAME)?.processed ?? 0) >= 2,
      { timeoutMs: 10_000, what: 'a heartbeat counting the two tasks' },
    );

    worker!.kill('SIGTERM');
    await exited(worker!);
    await waitFor(async () => (await index.workers()).find((x) => x.hostname === HOSTNAME)?.alive === false, {
      timeoutMs: 10_000,
      what: 'worker-offline',
    });
  });
});
