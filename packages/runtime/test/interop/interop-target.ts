/**
 * Where a Celery 5.2.6 interop test file runs, and the child processes it starts.
 *
 * - Redis: Lovage and Celery share a key prefix of the file's own (Celery's
 *   `broker_transport_options.global_keyprefix`); cleanup deletes the keys under it.
 * - RabbitMQ: a vhost of the file's own (made in `setup`, deleted in `cleanup`) and no prefix, since Celery
 *   has none on AMQP and must see Lovage's queue and exchange names as they are. The state store is then
 *   on Redis DB 0 without a prefix either, so cleanup removes this file's revoked ids and queue names from it.
 *
 * Results live on Redis DB 1 for both sides (Celery reads `celery-task-meta-<id>`); result keys are deleted
 * by task id. Each file also has `filePrefix`, unique, for keys of its own on Redis DB 0 (deleted in cleanup):
 * `py.mark` (py/pytasks.py) leaves `<filePrefix>ran:<id>` there for either broker.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createApp, type App, type CreateAppOptions } from '../../src/index';
import { TEST_BACKEND_URL, TEST_REDIS_URL } from '../../src/testing/test-broker';
import { deleteMatching, deleteResults } from '../helpers';

export const PYTHON = '/usr/bin/python3'; // the python3 on PATH has no celery
export const PY_DIR = fileURLToPath(new URL('./py/', import.meta.url));

export type InteropKind = 'redis' | 'amqp';

export const uniq = (label: string) => `test-${label}-${randomUUID().slice(0, 8)}`;

export interface InteropTarget {
  readonly kind: InteropKind;
  /** The broker both sides use. */
  readonly brokerUrl: string;
  /** Lovage's `globalKeyprefix`: unique on Redis, '' on RabbitMQ. */
  readonly keyPrefix: string;
  /** Unique to the file, for its own keys on Redis DB 0 (`TEST_REDIS_URL`), e.g. a TaskIndex's prefix. */
  readonly filePrefix: string;
  /** What `createApp` needs to reach this broker, the shared result backend and the state store. */
  readonly appOptions: Pick<CreateAppOptions, 'broker' | 'backend' | 'state' | 'brokerTransportOptions'>;
  /** The environment of every Python process (py/pytasks.py reads the LOVAGE_* variables). */
  readonly pyEnv: NodeJS.ProcessEnv;
  /** The `lovage inspect|control` options that select this broker. */
  readonly cliArgs: readonly string[];
  /** Whether `py.mark` ran for this task id. */
  ranMark(id: string): Promise<boolean>;
  /** Messages ready in a task queue. */
  queueLength(queue: string): Promise<number>;
  setup(): Promise<void>;
  /** Deletes what the file made; `taskIds` and `queues` are every id and queue name it used. */
  cleanup(taskIds: Iterable<string>, queues: Iterable<string>): Promise<void>;
}

const exec = promisify(execFile);

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', ['-q', ...args], { timeout: 30_000 });
  return stdout;
}

/** `label` names the file (it starts the prefix or vhost, to tell leftovers apart). */
export function interopTarget(kind: InteropKind, label: string): InteropTarget {
  const id = randomUUID().slice(0, 8);
  const filePrefix = `test-${label}-${id}:`;
  const marks = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  const common = {
    kind,
    filePrefix,
    ranMark: async (taskId: string) => (await marks.exists(`${filePrefix}ran:${taskId}`)) === 1,
  };
  const pyEnv = (brokerUrl: string, keyPrefix: string): NodeJS.ProcessEnv => ({
    ...process.env,
    LOVAGE_BROKER: brokerUrl,
    LOVAGE_BACKEND: TEST_BACKEND_URL,
    LOVAGE_PREFIX: keyPrefix,
    LOVAGE_MARKS_URL: TEST_REDIS_URL,
    LOVAGE_MARKS_PREFIX: filePrefix,
    PYTHONPATH: PY_DIR,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
  });
  const cleanupCommon = async (taskIds: Iterable<string>) => {
    await deleteResults(taskIds);
    await deleteMatching(TEST_REDIS_URL, `${filePrefix}*`);
    marks.disconnect();
  };

  if (kind === 'redis') {
    const keyPrefix = filePrefix;
    const brokerUrl = TEST_REDIS_URL;
    return {
      ...common,
      brokerUrl,
      keyPrefix,
      appOptions: {
        broker: brokerUrl,
        backend: TEST_BACKEND_URL,
        brokerTransportOptions: { globalKeyprefix: keyPrefix },
      },
      pyEnv: pyEnv(brokerUrl, keyPrefix),
      cliArgs: ['--broker', brokerUrl, '--key-prefix', keyPrefix],
      queueLength: async (queue) => {
        const redis = new Redis(brokerUrl);
        try {
          return await redis.llen(`${keyPrefix}${queue}`);
        } finally {
          redis.disconnect();
        }
      },
      setup: async () => undefined,
      cleanup: async (taskIds) => {
        await deleteMatching(brokerUrl, `${keyPrefix}*`);
        await cleanupCommon(taskIds);
      },
    };
  }

  const vhost = `lovage-${label}-${id}`;
  const brokerUrl = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
  return {
    ...common,
    brokerUrl,
    keyPrefix: '',
    appOptions: {
      broker: brokerUrl,
      backend: TEST_BACKEND_URL,
      state: TEST_REDIS_URL,
      brokerTransportOptions: { globalKeyprefix: '' },
    },
    pyEnv: pyEnv(brokerUrl, ''),
    cliArgs: ['--broker', brokerUrl, '--state', TEST_REDIS_URL],
    queueLength: async (queue) => {
      const out = await rabbitmqctl(
        'list_queues',
        '-p',
        vhost,
        '--no-table-headers',
        'name',
        'messages_ready',
      );
      const row = out
        .split('\n')
        .map((line) => line.split('\t'))
        .find(([name]) => name === queue);
      return row ? Number(row[1]) : 0;
    },
    setup: async () => {
      await rabbitmqctl('add_vhost', vhost);
      await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    },
    cleanup: async (taskIds, queues) => {
      await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
      // The unprefixed state store: this file's revoked ids and the queues its workers registered.
      const state = new Redis(TEST_REDIS_URL);
      try {
        const ids = [...taskIds];
        if (ids.length) await state.zrem('lovage:revoked', ...ids);
        const names = [...queues];
        if (names.length) await state.srem('lovage:queues', ...names);
      } finally {
        state.disconnect();
      }
      await cleanupCommon(taskIds);
    },
  };
}

export interface Interop {
  target: InteropTarget;
  /** A Lovage app on the target (closed after the file's tests). */
  app: App;
  /** Every task id the file used, so their results (and, on RabbitMQ, revoked entries) are deleted. */
  taskIds: Set<string>;
  /** Every queue name the file used (their registry entries are deleted on RabbitMQ). */
  queues: Set<string>;
}

/**
 * A test file's setup: the target is made before its tests and cleaned up after them, with its Lovage app
 * closed and every Python process stopped. Hooks the file registers later run inside these (afterAll: first).
 */
export function useInterop(kind: InteropKind, label: string): Interop {
  const target = interopTarget(kind, label);
  const taskIds = new Set<string>();
  const queues = new Set<string>();
  const reapChildren = killChildrenOnExit();
  const app = createApp({ ...target.appOptions, logger: pino({ level: 'silent' }) });
  beforeAll(() => target.setup());
  afterAll(async () => {
    await reapChildren();
    await app.close();
    await target.cleanup(taskIds, queues);
  });
  return { target, app, taskIds, queues };
}

// ---------------------------------------------------------------- child processes

/** Every child process started and not yet reaped; `killChildrenOnExit` SIGKILLs them if the runner exits. */
export const children = new Set<ChildProcess>();
const killAllNow = () => {
  for (const c of children) c.kill('SIGKILL');
};

export function killChildrenOnExit(): () => Promise<void> {
  process.once('exit', killAllNow);
  return async () => {
    await Promise.all([...children].map((c) => stopProcess(c, 2000)));
    process.removeListener('exit', killAllNow);
  };
}

export function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

export function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited(proc);
    clearTimeout(timer);
  }
  children.delete(proc);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (SIGKILLed after `timeoutMs`). */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
  timeoutMs = 20_000,
): Promise<RunResult> {
  const proc = track(spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

/** Runs a Python helper of py/ that prints one JSON line last; throws with its stderr if it fails. */
export async function runPyJson<T>(target: InteropTarget, args: string[], timeoutMs = 20_000): Promise<T> {
  const { code, stdout, stderr } = await run(PYTHON, args, { cwd: PY_DIR, env: target.pyEnv }, timeoutMs);
  if (code !== 0) throw new Error(`${args[0]} exited with ${code}\n${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
}

/** Starts a long-running Python process (a Celery worker) in py/, its stderr collected. */
export function spawnPy(
  target: InteropTarget,
  args: readonly string[],
): { proc: ChildProcess; stderr: () => string } {
  const proc = track(
    spawn(PYTHON, args, { cwd: PY_DIR, env: target.pyEnv, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let stderr = '';
  proc.stdout!.resume();
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return { proc, stderr: () => stderr };
}

/**
 * Starts a Python helper of py/ that prints `ready` once it listens, then one JSON line last when done.
 * `ready` resolves on that first line; `result` with the parsed last line (rejects if the process fails).
 */
export function startPyJson<T>(
  target: InteropTarget,
  args: string[],
  timeoutMs = 30_000,
): { ready: Promise<void>; result: Promise<T> } {
  const proc = track(
    spawn(PYTHON, args, { cwd: PY_DIR, env: target.pyEnv, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let stdout = '';
  let stderr = '';
  let markReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  proc.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString();
    if (stdout.startsWith('ready\n')) markReady();
  });
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const result = new Promise<T>((resolve, reject) =>
    proc.once('close', (code) => {
      clearTimeout(killer);
      if (code !== 0) reject(new Error(`${args[0]} exited with ${code}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as T);
    }),
  );
  // A process that dies before it is ready fails `ready` too.
  return { ready: Promise.race([ready, result.then(() => undefined)]), result };
}

export interface CeleryWorkerOptions {
  /** The module of py/ holding the Celery app (`-A`). */
  module: 'pytasks' | 'control_tasks';
  hostname: string;
  queues: readonly string[];
  /** `solo` unless a prefork pool of this many processes is asked for. */
  prefork?: number;
  /** Task events (`-E`). */
  events?: boolean;
  /** Worker heartbeats (true). */
  heartbeat?: boolean;
  loglevel?: 'warning' | 'info';
}

/**
 * Starts `celery worker` (without mingle and gossip); `died()` rejects, with the worker's stderr, if the
 * process exits (race it against whatever the caller waits for).
 */
export function startCeleryWorker(
  target: InteropTarget,
  o: CeleryWorkerOptions,
): { proc: ChildProcess; stderr: () => string; died: () => Promise<never> } {
  const pool = o.prefork ? ['-P', 'prefork', '-c', String(o.prefork)] : ['-P', 'solo'];
  const { proc, stderr } = spawnPy(target, [
    ...['-m', 'celery', '-A', o.module, 'worker', '-n', o.hostname, '-Q', o.queues.join(','), ...pool],
    ...(o.events ? ['-E'] : []),
    ...(o.heartbeat === false ? ['--without-heartbeat'] : []),
    ...['--without-mingle', '--without-gossip', '-l', o.loglevel ?? 'warning'],
  ]);
  const died = () =>
    exited(proc).then(() => {
      throw new Error(`celery worker exited (${proc.exitCode ?? proc.signalCode}):\n${stderr()}`);
    });
  return { proc, stderr, died };
}
