/**
 * The `lovage` subcommands as users run them (`node apps/worker/bin/lovage.mjs …` in child processes) against
 * the run's broker (support/broker.ts), results and the state store on the real Redis: the worker's pool and
 * event flags, `inspect`, `control`, `purge` and `monitor`. The `-E` tests read the events off Redis pub/sub
 * (the Redis wire), so they run only when the broker is Redis.
 *
 * Isolation: every test (or describe block sharing a worker) has its own key prefix and queue, handed to the
 * tasks module (fixtures/commands-app.ts) through LOVAGE_TEST_PREFIX / LOVAGE_TEST_QUEUE and to the remote
 * commands with `--key-prefix`; queues are purged through the broker, state keys removed with SCAN MATCH
 * prefix* + DEL, result keys by task id.
 * Every spawned process is SIGKILLed when its test (or block) ends, also when it fails.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type App } from '@lovage/runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { BACKEND, BROKER, BROKER_ENV, namespacedApp, REDIS, STATE, TEST_BROKER } from './support/broker';
import { deleteByPattern } from './support/redis-keys';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const bin = path.join(root, 'apps/worker/bin/lovage.mjs');
const FIXTURE = path.join('apps/worker/test/fixtures', 'commands-app.ts');

interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog: (msg: string | RegExp, timeoutMs?: number) => Promise<LogLine>;
  /** SIGKILL if still running, then wait for the exit. */
  kill: () => Promise<void>;
}

/** Spawns the CLI. The caller kills it (see `spawnFor`). */
function spawnCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, ...BROKER_ENV, LOVAGE_LOG_FORMAT: '', ...env },
  });
  let out = '';
  let err = '';
  let partial = '';
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: line });
      }
    }
    for (const l of listeners) l();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' waits for the output streams; 'exit' may come before the last output is read.
    child.on('close', (code, signal) => {
      done = true;
      for (const l of listeners) l();
      resolve({ code, signal });
    });
  });
  const waitForLog = (msg: string | RegExp, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const matches = (l: LogLine) =>
        typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg));
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      const check = () => {
        const found = lines.find(matches);
        if (found) finish(() => resolve(found));
        else if (done) finish(() => reject(new Error(`exited before logging ${msg}\n${out}\n${err}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no log ${msg} within ${timeoutMs} ms\n${out}\n${err}`))),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, stdout: () => out, stderr: () => err, exited, waitForLog, kill };
}

/** Spawns the CLI for one test: killed when the test finishes. */
function spawnFor(ctx: TestContext, args: string[], env: Record<string, string> = {}): Cli {
  const cli = spawnCli(args, env);
  ctx.onTestFinished(() => cli.kill());
  return cli;
}

/** Waits for exit, failing if it takes longer than the deadline. */
async function exitOf(cli: Cli, timeoutMs = 15_000) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms\n${cli.stdout()}\n${cli.stderr()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([cli.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a CLI command to completion. */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const cli = spawnCli(args, env);
  try {
    const { code } = await exitOf(cli, 20_000);
    return { code, stdout: cli.stdout(), stderr: cli.stderr() };
  } finally {
    await cli.kill();
  }
}

/** Polls until `check` returns true, or fails after `timeoutMs`. */
async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let redis: Redis;
let backendRedis: Redis;

beforeAll(() => {
  redis = new Redis(STATE);
  backendRedis = new Redis(BACKEND);
});

afterAll(async () => {
  await Promise.all([redis.quit(), backendRedis.quit()]);
});

/** A key prefix and queue of its own; `cleanup` deletes its keys and the results of the tasks it sent. */
function namespace() {
  const id = randomUUID().slice(0, 8);
  const prefix = `lovage-cmd-test-${id}:`;
  const queue = `cmd-${id}`;
  const apps: App[] = [];
  const taskIds: string[] = [];
  return {
    prefix,
    queue,
    hostname: `cmd-${id}@test`,
    env: { LOVAGE_TEST_PREFIX: prefix, LOVAGE_TEST_QUEUE: queue },
    /** `--broker … --key-prefix …`: how the remote commands reach this namespace without a tasks module. */
    target: ['--broker', BROKER, '--key-prefix', prefix],
    sender(): App {
      const app = namespacedApp(prefix, queue);
      apps.push(app);
      return app;
    },
    async send(app: App, name: string, args: unknown[], q = queue) {
      const r = await app.sendTask(name, args, {}, { queue: q });
      taskIds.push(r.id);
      return r;
    },
    async cleanup() {
      await Promise.all(
        apps.splice(0).map(async (a) => {
          await a.broker.purge(queue).catch(() => undefined);
          await a.close();
        }),
      );
      await deleteByPattern(redis, `${prefix}*`);
      const results = taskIds.splice(0).map((t) => `celery-task-meta-${t}`);
      if (results.length > 0) await backendRedis.del(...results);
    },
  };
}

function namespaceFor(ctx: TestContext) {
  const ns = namespace();
  ctx.onTestFinished(() => ns.cleanup());
  return ns;
}

function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^lovage: error: /);
  return lines[0]!;
}

// ---------------------------------------------------------------- usage errors (no Redis needed)

describe('usage errors: exit 2 with one `lovage: error:` line', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'worker -P with an unknown pool',
      ['worker', '-A', FIXTURE, '-P', 'gevent'],
      /'-P, --pool <kind>' argument 'gevent' is invalid\. Allowed choices are prefork, threads, async\.$/,
    ],
    [
      'worker --max-tasks-per-child 0',
      ['worker', '-A', FIXTURE, '--max-tasks-per-child', '0'],
      /--max-tasks-per-child <k>' argument '0' is invalid/,
    ],
    [
      'inspect with an unknown method',
      ['inspect', 'bogus'],
      /'bogus' is invalid.*expected one of active, reserved/,
    ],
    [
      'control with an unknown method',
      ['control', 'explode'],
      /'explode' is invalid.*expected one of revoke/,
    ],
    ['control rate_limit with a bad rate', ['control', 'rate_limit', 't', 'bad'], /invalid rate limit "bad"/],
    [
      'control time_limit with soft >= hard',
      ['control', 'time_limit', 't', '10', '5'],
      /the soft time limit must be below the hard one/,
    ],
    ['control pool_grow 0', ['control', 'pool_grow', '0'], /pool_grow takes a whole number >= 1/],
    ['inspect query_task without ids', ['inspect', 'query_task'], /query_task needs task ids/],
  ];

  it.concurrent.for(cases)('%s', async ([, args, message], { expect }) => {
    const { code, stdout, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(oneErrorLine(stderr)).toMatch(message);
    expect(stdout).toBe('');
  });

  it('`lovage monitor --help` exists and exits 0', async () => {
    const { code, stdout } = await runCli(['monitor', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: lovage monitor \[options\]/);
    expect(stdout).toContain('--key-prefix');
  });
});

// ---------------------------------------------------------------- lovage worker: -P and -E

describe('a broker that does not answer', () => {
  it.concurrent.for([
    ['inspect', 'ping', '-t', '1'],
    ['control', 'pool_grow', '1', '-t', '1'],
    ['purge', '-Q', 'x', '--force'],
  ])(
    'a broker that does not answer: `lovage %s` exits 1 with one line naming it',
    async (args, { expect }) => {
      const { code, stdout, stderr } = await runCli([...args, '--broker', 'redis://:secret@127.0.0.1:1/0']);
      expect(code).toBe(1);
      expect(oneErrorLine(stderr)).toMatch(
        /^lovage: error: cannot reach the broker at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0 \(connect ECONNREFUSED/,
      );
      expect(stdout).toBe('');
    },
  );
});

describe('lovage worker -P', () => {
  it.for(['async', 'threads', 'prefork'] as const)('-P %s runs tasks in that pool', async (pool, ctx) => {
    const ns = namespaceFor(ctx);
    const cli = spawnFor(ctx, ['worker', '-A', FIXTURE, '-P', pool, '-c', '1', '-n', ns.hostname], ns.env);
    const ready = await cli.waitForLog('worker ready', 20_000);
    expect(ready).toMatchObject({ pool, concurrency: 1, queues: [ns.queue] });
    const app = ns.sender();
    expect(await (await ns.send(app, 'cmd.add', [2, 3])).get({ timeout: 10 })).toBe(5);
    const stats = await app.control.inspect('stats', { destination: [ns.hostname], timeout: 3 });
    expect(stats[ns.hostname]).toMatchObject({ pool: { implementation: `lovage.pool:${pool}` } });
    // prefork runs tasks in a child process; threads and async in the worker's own.
    const { processes } = (stats[ns.hostname] as { pool: { processes: number[] } }).pool;
    expect(processes).toHaveLength(1);
    if (pool === 'prefork') expect(processes).not.toContain(cli.child.pid);
    else expect(processes).toEqual([cli.child.pid]);
    cli.child.kill('SIGTERM');
    expect((await exitOf(cli)).code).toBe(0);
  });

  // Celery answers pool_grow at once ("pool will grow") and grows in the background; `lovage control` waits
  // its default 1 s for the reply, so the worker must answer within it whatever the pool.
  it.for(['async', 'threads', 'prefork'] as const)(
    '-P %s: `lovage control pool_grow 1` (default timeout) gets the reply and the pool grows',
    async (pool, ctx) => {
      const ns = namespaceFor(ctx);
      const cli = spawnFor(ctx, ['worker', '-A', FIXTURE, '-P', pool, '-c', '1', '-n', ns.hostname], ns.env);
      await cli.waitForLog('worker ready', 20_000);
      const grow = await runCli(['control', 'pool_grow', '1', ...ns.target, '-d', ns.hostname]);
      expect(grow).toEqual({
        code: 0,
        stdout: `-> ${ns.hostname}: OK\n    pool will grow\n\n1 node online.\n`,
        stderr: '',
      });
      const app = ns.sender();
      const pids = async () => {
        const stats = await app.control.inspect('stats', { destination: [ns.hostname], timeout: 3 });
        const info = (stats[ns.hostname] as { pool: { 'max-concurrency': number; processes: number[] } })
          .pool;
        return info['max-concurrency'] === 2 ? info.processes : null;
      };
      await waitFor(async () => (await pids()) !== null, 'max-concurrency 2');
      if (pool === 'prefork') {
        await waitFor(async () => new Set(await pids()).size === 2, 'two child processes');
        expect(await pids()).not.toContain(cli.child.pid);
      }
    },
  );

  it('-P prefork: inspect active names the child process running each task (worker_pid)', async (ctx) => {
    const ns = namespaceFor(ctx);
    const cli = spawnFor(
      ctx,
      ['worker', '-A', FIXTURE, '-P', 'prefork', '-c', '2', '-n', ns.hostname],
      ns.env,
    );
    await cli.waitForLog('worker ready', 20_000);
    const app = ns.sender();
    const dest = { destination: [ns.hostname], timeout: 3 };
    const a = await ns.send(app, 'cmd.slow', [20_000]);
    const b = await ns.send(app, 'cmd.slow', [20_000]);
    let active: Array<{ id: string; worker_pid: number | null }> = [];
    await waitFor(async () => {
      active = (await app.control.inspect('active', dest))[ns.hostname] as typeof active;
      // A task enters `active` a moment before it starts (time_start and worker_pid are set then).
      return active.length === 2 && active.every((t) => t.worker_pid !== null);
    }, 'two tasks running');
    const stats = (await app.control.inspect('stats', dest))[ns.hostname] as {
      pool: { processes: number[] };
    };
    expect(active.map((t) => t.id).sort()).toEqual([a.id, b.id].sort());
    // One task per child: the two tasks run in the two different children.
    expect(active.map((t) => t.worker_pid).sort()).toEqual([...stats.pool.processes].sort());
    await app.control.revoke([a.id, b.id], { ...dest, terminate: true });
  });
});

interface EventMessage {
  channel: string;
  envelope: { headers: Record<string, unknown>; properties: Record<string, unknown>; 'content-type': string };
  /** The decoded body: one event, or an array of them for `task.multi`. */
  body: unknown;
}
type Event = { type: string; uuid?: string; hostname?: string; timestamp?: number; [k: string]: unknown };

/** Subscribes to every event of a namespace (`<prefix>/0.celeryev/*`, as `celery events` does on Redis). */
async function subscribeEvents(ctx: TestContext, prefix: string) {
  const sub = new Redis(REDIS);
  ctx.onTestFinished(() => void sub.disconnect());
  const messages: EventMessage[] = [];
  sub.on('pmessage', (_pattern: string, channel: string, raw: string) => {
    const envelope = JSON.parse(raw) as EventMessage['envelope'] & { body: string };
    const body = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as unknown;
    messages.push({ channel, envelope, body });
  });
  await sub.psubscribe(`${prefix}/0.celeryev/*`);
  const events = () => messages.flatMap((m) => (Array.isArray(m.body) ? m.body : [m.body]) as Event[]);
  return { messages, events };
}

describe.runIf(TEST_BROKER.kind === 'redis')('lovage worker -E (events read off the Redis wire)', () => {
  it('with -E the worker sends task.multi batches of task-received, task-started and task-succeeded', async (ctx) => {
    const ns = namespaceFor(ctx);
    const { messages, events } = await subscribeEvents(ctx, ns.prefix);
    const cli = spawnFor(
      ctx,
      ['worker', '-A', FIXTURE, '-P', 'async', '-c', '1', '-E', '-n', ns.hostname],
      ns.env,
    );
    await cli.waitForLog('worker ready');
    const r = await ns.send(ns.sender(), 'cmd.add', [2, 3]);
    expect(await r.get({ timeout: 10 })).toBe(5);

    const ofTask = () => events().filter((e) => e.uuid === r.id);
    await waitFor(() => ofTask().some((e) => e.type === 'task-succeeded'), 'task-succeeded');
    expect(ofTask().map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    const [received, , succeeded] = ofTask();
    expect(received).toMatchObject({ name: 'cmd.add', args: '(2, 3)', hostname: ns.hostname, retries: 0 });
    expect(succeeded).toMatchObject({ result: '5', hostname: ns.hostname });
    expect(typeof succeeded!.runtime).toBe('number');

    // Task events travel only as task.multi arrays, in kombu's envelope with the sender in the headers.
    const taskMessages = messages.filter((m) =>
      (Array.isArray(m.body) ? m.body : [m.body]).some((e: Event) => e.uuid === r.id),
    );
    for (const m of taskMessages) {
      expect(m.channel).toBe(`${ns.prefix}/0.celeryev/task.multi`);
      expect(Array.isArray(m.body)).toBe(true);
      expect(m.envelope.headers).toEqual({ hostname: ns.hostname });
      expect(m.envelope.properties).toMatchObject({
        body_encoding: 'base64',
        delivery_mode: 1,
        delivery_info: { exchange: 'celeryev', routing_key: 'task.multi' },
      });
      expect(m.envelope['content-type']).toBe('application/json');
    }
    const online = messages.find((m) => m.channel === `${ns.prefix}/0.celeryev/worker.online`);
    expect(online?.body).toMatchObject({ type: 'worker-online', hostname: ns.hostname, freq: 2 });
  });

  it('without -E only worker-online and worker-heartbeat arrive', async (ctx) => {
    const ns = namespaceFor(ctx);
    const { messages, events } = await subscribeEvents(ctx, ns.prefix);
    const cli = spawnFor(ctx, ['worker', '-A', FIXTURE, '-P', 'async', '-c', '1', '-n', ns.hostname], ns.env);
    await cli.waitForLog('worker ready');
    const r = await ns.send(ns.sender(), 'cmd.add', [2, 3]);
    expect(await r.get({ timeout: 10 })).toBe(5);
    const doneAt = Date.now() / 1000;
    // Events go out in order on one connection: a heartbeat made after the result was stored comes after
    // any task event the worker would have sent for it.
    await waitFor(
      () => events().some((e) => e.type === 'worker-heartbeat' && (e.timestamp ?? 0) > doneAt),
      'a heartbeat after the task finished',
      6000,
    );
    expect([...new Set(events().map((e) => e.type))].sort()).toEqual(['worker-heartbeat', 'worker-online']);
    expect([...new Set(messages.map((m) => m.channel))].sort()).toEqual([
      `${ns.prefix}/0.celeryev/worker.heartbeat`,
      `${ns.prefix}/0.celeryev/worker.online`,
    ]);
  });
});

// ---------------------------------------------------------------- inspect and control

describe('lovage inspect / control against a lovage worker', () => {
  const ns = namespace();
  let worker: Cli;

  beforeAll(async () => {
    worker = spawnCli(['worker', '-A', FIXTURE, '-P', 'async', '-c', '2', '-n', ns.hostname], ns.env);
    await worker.waitForLog('worker ready');
  });

  afterAll(async () => {
    await worker?.kill();
    await ns.cleanup();
  });

  const h = ns.hostname;
  const remote = (args: string[]) => runCli([...args, ...ns.target, '-d', h, '-t', '3']);

  it('inspect ping, stats and registered print `-> name: OK` and the payload; --json parses', async () => {
    const [ping, stats, registered] = await Promise.all([
      remote(['inspect', 'ping']),
      // -A: the tasks module's app (and so its key prefix) instead of --broker/--key-prefix.
      runCli(['inspect', 'stats', '-A', FIXTURE, '-d', h, '-t', '3', '--json'], ns.env),
      remote(['inspect', 'registered']),
    ]);
    expect(ping).toEqual({ code: 0, stdout: `-> ${h}: OK\n    pong\n\n1 node online.\n`, stderr: '' });

    expect(stats.code, stats.stderr).toBe(0);
    const s = (JSON.parse(stats.stdout) as Record<string, Record<string, unknown>>)[h]!;
    expect(s).toMatchObject({
      pid: worker.child.pid,
      pool: { 'max-concurrency': 2, implementation: 'lovage.pool:async' },
      lovage: { pool: 'async', concurrency: 2, queues: [ns.queue] },
    });

    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toBe(
      `-> ${h}: OK\n    [\n      "cmd.add",\n      "cmd.slow"\n    ]\n\n1 node online.\n`,
    );
  });

  it('control rate_limit, pool_grow, pool_shrink and revoke change the worker', async () => {
    const id = randomUUID();
    const ok = (text: string) => ({
      code: 0,
      stdout: `-> ${h}: OK\n    ${text}\n\n1 node online.\n`,
      stderr: '',
    });
    // grow 2 and shrink 1 end at 3 in either order.
    const [rate, grow, shrink, revoke] = await Promise.all([
      remote(['control', 'rate_limit', 'cmd.add', '10/m']),
      remote(['control', 'pool_grow', '2']),
      remote(['control', 'pool_shrink', '1']),
      remote(['control', 'revoke', id]),
    ]);
    expect(rate).toEqual(ok('new rate limit set successfully'));
    expect(grow).toEqual(ok('pool will grow'));
    expect(shrink).toEqual(ok('pool will shrink'));
    expect(revoke).toEqual(ok(`tasks ${id} flagged as revoked`));

    // What the worker says now (read in-process; --json output is checked above).
    const control = ns.sender().control;
    const ask = async (method: 'registered' | 'stats' | 'revoked') =>
      (await control.inspect(method, { destination: [h], timeout: 3 }))[h];
    const [registered, stats, revoked] = await Promise.all([ask('registered'), ask('stats'), ask('revoked')]);
    expect(registered).toEqual(['cmd.add [rate_limit=10/m]', 'cmd.slow']);
    expect(stats).toMatchObject({ pool: { 'max-concurrency': 3 }, lovage: { concurrency: 3 } });
    expect(revoked).toEqual([id]);
    // `control revoke` also stores the id, so workers started later honour it.
    expect(await redis.zscore(`${ns.prefix}lovage:revoked`, id)).not.toBeNull();
  });

  it('an error reply prints `-> name: ERROR`', async () => {
    const res = await remote(['control', 'rate_limit', 'nope.task', '1/s']);
    expect(res).toEqual({
      code: 0,
      stdout: `-> ${h}: ERROR\n    unknown task\n\n1 node online.\n`,
      stderr: '',
    });
  });

  it('inspect with no worker in reach: `no nodes replied`, exit 1', async () => {
    const empty = `lovage-cmd-test-empty-${randomUUID().slice(0, 8)}:`;
    const res = await runCli(['inspect', 'ping', '--broker', BROKER, '--key-prefix', empty, '-t', '0.5']);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(oneErrorLine(res.stderr)).toBe('lovage: error: no nodes replied within time constraint');
  });
});

// ---------------------------------------------------------------- control shutdown

describe('lovage control shutdown', () => {
  it('a running worker finishes its task (warm shutdown) and exits 0', async (ctx) => {
    const ns = namespaceFor(ctx);
    const cli = spawnFor(ctx, ['worker', '-A', FIXTURE, '-P', 'async', '-c', '1', '-n', ns.hostname], ns.env);
    await cli.waitForLog('worker ready');
    const r = await ns.send(ns.sender(), 'cmd.slow', [1500]);
    await cli.waitForLog('cmd.slow running');

    const sent = await runCli(['control', 'shutdown', ...ns.target, '-d', ns.hostname]);
    expect(sent).toEqual({ code: 0, stdout: 'shutdown sent\n', stderr: '' });
    await cli.waitForLog('remote control asked this worker to shut down');
    await cli.waitForLog(/^warm shutdown/);
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
    expect(await r.get({ timeout: 5 })).toBe('finished');
    expect(await cli.waitForLog('worker stopped')).toMatchObject({ processed: 1, cold: false });
  });
});

// ---------------------------------------------------------------- purge

describe('lovage purge', () => {
  it('without --force and no terminal: exit 2, nothing deleted; with --force: the messages are gone', async (ctx) => {
    const ns = namespaceFor(ctx);
    const other = `${ns.queue}-other`;
    const app = ns.sender();
    for (const n of [1, 2, 3]) await ns.send(app, 'cmd.add', [n, n]);
    await ns.send(app, 'cmd.add', [4, 4], other);
    const len = (q: string) => app.broker.queueLength(q);
    expect(await len(ns.queue)).toBe(3);

    const refused = await runCli(['purge', '-Q', `${ns.queue},${other}`, ...ns.target]);
    expect(refused.code).toBe(2);
    expect(oneErrorLine(refused.stderr)).toMatch(
      /refusing to purge .* without confirmation \(stdin is not a terminal\); pass --force/,
    );
    expect(refused.stdout).toBe('');
    expect([await len(ns.queue), await len(other)]).toEqual([3, 1]);

    const forced = await runCli(['purge', '-Q', `${ns.queue},${other}`, '--force', ...ns.target]);
    expect(forced).toEqual({ code: 0, stdout: 'Purged 4 messages from 2 known task queues.\n', stderr: '' });
    expect([await len(ns.queue), await len(other)]).toEqual([0, 0]);
    // Recorded in the task index on the state store, as the console records its purges.
    const purges = async (q: string) =>
      (await redis.zrange(`${ns.prefix}lovage:index:purges:${q}`, 0, -1)).map(
        (p) => JSON.parse(p) as { by: string; count: number },
      );
    expect(await purges(ns.queue)).toEqual([expect.objectContaining({ by: 'lovage purge', count: 3 })]);
    expect(await purges(other)).toEqual([expect.objectContaining({ by: 'lovage purge', count: 1 })]);

    const again = await runCli(['purge', '-Q', ns.queue, '-f', ...ns.target]);
    expect(again).toEqual({ code: 0, stdout: 'Purged 0 messages from 1 known task queue.\n', stderr: '' });
    // Nothing went: nothing recorded.
    expect(await purges(ns.queue)).toHaveLength(1);
  });
});
