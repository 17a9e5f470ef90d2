/**
 * Wire interop with real Celery 5.2.6 (Debian's /usr/bin/python3), both directions, on Redis:
 * results, failures (exception type, message, traceback), retries, ETA/countdown and expiry.
 *
 * Python side: ./py/pytasks.py (the Celery app and its tasks) and ./py/client.py (sends tasks, prints the
 * outcomes as JSON). Isolation: one globalKeyprefix for this file (passed to Python as
 * broker_transport_options.global_keyprefix), one queue per test; result keys (never prefixed, §4) are
 * deleted by task id. Every Python process is killed in afterAll, also when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApp,
  Worker,
  type ApplyOptions,
  type AsyncResult,
  type TaskFailedError,
} from '../../src/index';

const BROKER = 'redis://127.0.0.1:6379/0';
const BACKEND = 'redis://127.0.0.1:6379/1';
const PYTHON = '/usr/bin/python3'; // the python3 on PATH has no celery
const PY_DIR = fileURLToPath(new URL('./py/', import.meta.url));
const PREFIX = `test-interop-${randomUUID().slice(0, 8)}:`;
const PY_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  LOVAGE_BROKER: BROKER,
  LOVAGE_BACKEND: BACKEND,
  LOVAGE_PREFIX: PREFIX,
  PYTHONPATH: PY_DIR,
  PYTHONDONTWRITEBYTECODE: '1',
  PYTHONUNBUFFERED: '1',
};

const uniq = (label: string) => `test-${label}-${randomUUID().slice(0, 8)}`;

const brokerRedis = new Redis(BROKER);
const backendRedis = new Redis(BACKEND);
/** Every task id sent by either side, so their (unprefixed) result keys can be deleted. */
const taskIds = new Set<string>();
/** Every Python process started and not yet reaped. */
const children = new Set<ChildProcess>();
const killAllNow = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.once('exit', killAllNow);

// ---------------------------------------------------------------- Lovage app and its tasks

const app = createApp({
  broker: BROKER,
  backend: BACKEND,
  brokerTransportOptions: { globalKeyprefix: PREFIX },
  logger: pino({ level: 'silent' }),
});

class PaymentDeclined extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaymentDeclined';
  }
}

/** Ids of `ts.mark` runs: an expired task must never get here. */
const marked = new Set<string>();

app.task('ts.add', (_ctx, a: number, b: number) => a + b);
app.task('ts.echo', (ctx, ...args: unknown[]) => ({ args, kwargs: ctx.kwargs }));
app.task('ts.typeError', (_ctx, value: unknown) => {
  throw new TypeError(`expected a number, got ${JSON.stringify(value)}`);
});
app.task('ts.custom', (_ctx, card: string) => {
  throw new PaymentDeclined(`card ${card} declined`);
});
app.task(
  'ts.flaky',
  (ctx, x: number) => {
    if (ctx.retries < 1) ctx.retry({ countdown: 0.1 });
    return { value: x * 2, retries: ctx.retries };
  },
  { maxRetries: 3 },
);
app.task('ts.now', () => Date.now() / 1000);
app.task('ts.mark', (ctx) => {
  marked.add(ctx.id);
  return 'ran';
});

async function send(name: string, args: unknown[], options: ApplyOptions): Promise<AsyncResult> {
  const r = await app.sendTask(name, args, {}, options);
  taskIds.add(r.id);
  return r;
}

/** The rejection of `get`, or a failed expectation if it resolved. */
async function rejection(r: AsyncResult, timeout: number): Promise<TaskFailedError> {
  const outcome = await r.get({ timeout }).then(
    (value) => ({ value }),
    (err: unknown) => ({ err: err as TaskFailedError }),
  );
  if (!('err' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.err;
}

// ---------------------------------------------------------------- Python processes

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stopProcess(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited(proc);
    clearTimeout(timer);
  }
  children.delete(proc);
}

function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

interface PyCall {
  name: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options: { queue: string; countdown?: number; expires?: number };
}

interface PyOutcome {
  id: string;
  state: string;
  /** Epoch seconds just before send_task. */
  sent_at: number;
  /** Seconds from send_task to get() returning. */
  elapsed: number;
  ok: boolean;
  result?: unknown;
  exc_type?: string;
  exc_module?: string;
  /** The re-raised exception is the real Python builtin class of that name. */
  exc_builtin?: boolean;
  exc_args?: unknown[];
  traceback?: string | null;
}

/** Runs py/client.py: a Celery client sends `calls`, waits for each result and reports them. */
async function pyClient(calls: PyCall[], timeout = 20): Promise<PyOutcome[]> {
  const proc = track(
    spawn(PYTHON, ['client.py', JSON.stringify({ timeout, calls })], {
      cwd: PY_DIR,
      env: PY_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const killer = setTimeout(() => proc.kill('SIGKILL'), (timeout + 15) * 1000);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`client.py exited with ${code}\n${stderr}`);
  const line = stdout.trim().split('\n').pop() ?? '';
  const out = JSON.parse(line) as PyOutcome[];
  for (const o of out) taskIds.add(o.id);
  return out;
}

/** Starts a Celery worker (solo pool) on `queues`; resolves once it has run a task. */
async function startPyWorker(queues: string[]): Promise<{ proc: ChildProcess; stderr: () => string }> {
  const hostname = `${uniq('celery')}@localhost`;
  const proc = track(
    spawn(
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'pytasks',
        'worker',
        '-Q',
        queues.join(','),
        '-n',
        hostname,
        '--pool',
        'solo',
        '--loglevel',
        'warning',
        '--without-mingle',
        '--without-gossip',
        '--without-heartbeat',
      ],
      { cwd: PY_DIR, env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let stderr = '';
  proc.stdout!.resume();
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  // Ready = a first task round trip through the first queue.
  const first = await send('py.add', [20, 22], { queue: queues[0] });
  const died = exited(proc).then(() => {
    throw new Error(`celery worker exited before it was ready:\n${stderr}`);
  });
  const value = await Promise.race([first.get({ timeout: 25 }), died]);
  expect(value).toBe(42);
  return { proc, stderr: () => stderr };
}

afterAll(async () => {
  await Promise.all([...children].map((c) => stopProcess(c, 2000)));
  process.removeListener('exit', killAllNow);
  await app.close();
  let cursor = '0';
  do {
    const [next, keys] = await brokerRedis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    if (keys.length) await brokerRedis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  const resultKeys = [...taskIds].map((id) => `celery-task-meta-${id}`);
  for (let i = 0; i < resultKeys.length; i += 500) await backendRedis.del(...resultKeys.slice(i, i + 500));
  brokerRedis.disconnect();
  backendRedis.disconnect();
});

// ---------------------------------------------------------------- Celery client -> Lovage worker

/** Starts a Lovage worker on a fresh queue for one test and stops it afterwards, also on failure. */
async function withLovageWorker<T>(fn: (queue: string, worker: Worker) => Promise<T>): Promise<T> {
  const queue = uniq('q');
  const worker = new Worker(app, { queues: [queue], concurrency: 4, hostname: `lovage-${queue}@localhost` });
  await worker.start();
  try {
    return await fn(queue, worker);
  } finally {
    await worker.stop();
  }
}

describe('Celery 5.2.6 client -> Lovage worker', () => {
  it('runs tasks sent by Celery and Celery reads their results', async () => {
    await withLovageWorker(async (queue) => {
      const [sum, echo] = await pyClient([
        { name: 'ts.add', args: [2, 3], options: { queue } },
        {
          name: 'ts.echo',
          args: [1, 'ü€', [1, 2], { a: null }],
          kwargs: { k: 1.5, flag: true },
          options: { queue },
        },
      ]);
      expect(sum).toMatchObject({ ok: true, state: 'SUCCESS', result: 5 });
      expect(echo).toMatchObject({
        ok: true,
        state: 'SUCCESS',
        result: { args: [1, 'ü€', [1, 2], { a: null }], kwargs: { k: 1.5, flag: true } },
      });
    });
  });

  it('reports a Lovage TypeError as builtins.TypeError and a custom error class by its name', async () => {
    await withLovageWorker(async (queue) => {
      const [typeError, custom] = await pyClient([
        { name: 'ts.typeError', args: ['x'], options: { queue } },
        { name: 'ts.custom', args: ['4242'], options: { queue } },
      ]);
      expect(typeError).toMatchObject({
        ok: false,
        state: 'FAILURE',
        exc_type: 'TypeError',
        exc_module: 'builtins',
        exc_builtin: true,
        exc_args: ['expected a number, got "x"'],
      });
      expect(typeError!.traceback).toContain('celery-interop.redis.test.ts');
      expect(custom).toMatchObject({
        ok: false,
        state: 'FAILURE',
        exc_type: 'PaymentDeclined',
        exc_builtin: false,
        exc_args: ['card 4242 declined'],
      });
      expect(custom!.exc_module).not.toBe('builtins');
      expect(custom!.traceback).toContain('celery-interop.redis.test.ts');
    });
  });

  it('retries a Lovage task once (ctx.retry) and Celery gets the final result', async () => {
    await withLovageWorker(async (queue, worker) => {
      let retried = 0;
      worker.on('task-retried', () => retried++);
      const [out] = await pyClient([{ name: 'ts.flaky', args: [21], options: { queue } }]);
      expect(out).toMatchObject({ ok: true, state: 'SUCCESS', result: { value: 42, retries: 1 } });
      expect(retried).toBe(1);
    });
  });

  it('honours a Celery countdown: the task does not run before its ETA', async () => {
    await withLovageWorker(async (queue) => {
      const [out] = await pyClient([{ name: 'ts.now', options: { queue, countdown: 1 } }]);
      expect(out).toMatchObject({ ok: true, state: 'SUCCESS' });
      const ranAt = out!.result as number;
      expect(ranAt - out!.sent_at).toBeGreaterThanOrEqual(0.9);
      expect(out!.elapsed).toBeGreaterThanOrEqual(0.9);
    });
  });

  it('revokes tasks Celery sent already expired, or that expire before their ETA', async () => {
    await withLovageWorker(async (queue) => {
      const [past, beforeEta, fresh] = await pyClient([
        { name: 'ts.mark', options: { queue, expires: -5 } },
        { name: 'ts.mark', options: { queue, countdown: 1.5, expires: 0.5 } },
        { name: 'ts.mark', options: { queue, expires: 60 } },
      ]);
      for (const out of [past, beforeEta]) {
        expect(out).toMatchObject({
          ok: false,
          state: 'REVOKED',
          exc_type: 'TaskRevokedError',
          exc_args: ['expired'],
        });
        expect(marked.has(out!.id)).toBe(false);
      }
      // The control: the same task, not expired, runs.
      expect(fresh).toMatchObject({ ok: true, state: 'SUCCESS', result: 'ran' });
      expect(marked.has(fresh!.id)).toBe(true);
    });
  });
});

// ---------------------------------------------------------------- Lovage client -> Celery worker

describe('Lovage client -> Celery 5.2.6 worker', () => {
  const q = {
    ready: uniq('ready'),
    ok: uniq('ok'),
    fail: uniq('fail'),
    retry: uniq('retry'),
    eta: uniq('eta'),
    expired: uniq('expired'),
  };
  let py: Awaited<ReturnType<typeof startPyWorker>> | null = null;

  beforeAll(async () => {
    py = await startPyWorker(Object.values(q));
  }, 40_000);

  afterAll(async () => {
    if (py) await stopProcess(py.proc);
  });

  it('runs a Lovage-sent task on Celery and Lovage reads the result', async () => {
    const sum = await send('py.add', [2, 3], { queue: q.ok });
    const concat = await send('py.add', [['ü'], [{ a: null }]], { queue: q.ok });
    expect(await sum.get({ timeout: 15 })).toBe(5);
    expect(await concat.get({ timeout: 15 })).toEqual(['ü', { a: null }]);
    expect(await sum.state()).toBe('SUCCESS');
  });

  it('rejects with the Python ValueError, its message and traceback', async () => {
    const r = await send('py.fail', ['boom'], { queue: q.fail });
    const err = await rejection(r, 15);
    expect(err.name).toBe('ValueError');
    expect(err.message).toContain('boom');
    expect(err.remoteModule).toBe('builtins');
    expect(err.traceback).toMatch(/^Traceback \(most recent call last\)/);
    expect(err.traceback).toContain('raise ValueError(message)');
    expect(await r.state()).toBe('FAILURE');
  });

  it('follows a Celery self.retry() to the final result', async () => {
    const r = await send('py.flaky', [21], { queue: q.retry });
    expect(await r.get({ timeout: 15 })).toEqual({ value: 42, retries: 1 });
  });

  it('does not run a countdown task on Celery before its ETA', async () => {
    const t0 = Date.now();
    const r = await send('py.now', [], { queue: q.eta, countdown: 1 });
    const ranAt = (await r.get({ timeout: 15 })) as number;
    const elapsed = Date.now() - t0;
    expect(ranAt * 1000 - t0).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeGreaterThanOrEqual(900);
  });

  it('sees REVOKED for tasks sent already expired, or that expire before their ETA', async () => {
    const past = await send('py.mark', [], { queue: q.expired, expires: new Date(Date.now() - 5000) });
    const beforeEta = await send('py.mark', [], { queue: q.expired, countdown: 1.5, expires: 0.5 });
    const fresh = await send('py.mark', [], { queue: q.expired, expires: 60 });
    for (const r of [past, beforeEta]) {
      const err = await rejection(r, 15);
      expect(err.name).toBe('TaskRevokedError');
      expect(err.message).toContain('expired');
      expect(await r.state()).toBe('REVOKED');
      expect(await brokerRedis.exists(`${PREFIX}ran:${r.id}`)).toBe(0);
    }
    // The control: the same task, not expired, runs and leaves its trace.
    expect(await fresh.get({ timeout: 15 })).toBe('ran');
    expect(await brokerRedis.exists(`${PREFIX}ran:${fresh.id}`)).toBe(1);
  });
});
