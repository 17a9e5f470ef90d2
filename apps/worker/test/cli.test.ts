/**
 * The `lovage` CLI as users run it: `node apps/worker/bin/lovage.mjs …` in a child process, against the run's
 * broker (support/broker.ts) with results and the state store on the real Redis. Each test uses its own key
 * prefix and queue; its queue is purged and its state keys removed afterwards with SCAN MATCH prefix* + DEL,
 * and every spawned process is killed in afterEach even when a test fails.
 */
import { randomUUID } from 'node:crypto';
import { type App } from '@lovage/runtime';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { BACKEND, namespacedApp, STATE } from './support/broker';
import { exitOf, fixture, runCli } from './support/cli';
import { deleteByPattern } from './support/redis-keys';

const apps: App[] = [];
let redis: Redis;
let backendRedis: Redis;
let prefix: string;
let queue: string;
const taskIds: string[] = [];

function senderApp(): App {
  const app = namespacedApp(prefix, queue);
  apps.push(app);
  return app;
}

async function send(app: App, name: string, args: unknown[]) {
  const result = await app.sendTask(name, args, {}, { queue });
  taskIds.push(result.id);
  return result;
}

describe('lovage: usage errors exit 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown option', ['worker', '-A', fixture('app.ts'), '--bogus'], /unknown option '--bogus'/],
    ['a non-integer concurrency', ['worker', '-A', fixture('app.ts'), '-c', '1.5'], /concurrency/],
    ['a concurrency below 1', ['worker', '-A', fixture('app.ts'), '-c', '0'], /concurrency.*'0'/],
    ['a bad log level', ['worker', '-A', fixture('app.ts'), '-l', 'loud'], /loglevel.*'loud'/],
    ['no -A', ['worker'], /required option '-A, --app <module>'/],
    [
      'a missing -A file',
      ['worker', '-A', fixture('missing.ts')],
      /cannot find the tasks module .*missing\.ts/,
    ],
    [
      'a module that fails to load',
      ['worker', '-A', fixture('broken.ts')],
      /cannot load the tasks module .*broken\.ts: fixture exploded while loading/,
    ],
    [
      'a module that exports no app',
      ['worker', '-A', fixture('no-app.ts')],
      /no-app\.ts exports no Lovage app/,
    ],
    [
      'a --broker the module ignores',
      ['worker', '-A', fixture('fixed-broker.ts'), '--broker', 'redis://127.0.0.1:6379/3'],
      /--broker was given but the app .* does not use it/,
    ],
    ['an unknown command', ['wroker'], /unknown command 'wroker'/],
    [
      'a misspelt option, with the one it meant',
      ['worker', '-A', fixture('app.ts'), '--concurency', '2'],
      /unknown option '--concurency' \(Did you mean --concurrency\?\)/,
    ],
    [
      'a broker URL of a scheme Lovage does not speak',
      ['inspect', 'ping', '--broker', 'http://127.0.0.1:6379'],
      /broker must be a redis:\/\/, rediss:\/\/, amqp:\/\/, amqps:\/\/ or pyamqp:\/\/ URL \(http:\/\/ is not supported\)/,
    ],
    [
      'a result backend URL that is no URL',
      ['worker', '-A', fixture('app.ts'), '--result-backend', '127.0.0.1:6379'],
      /backend must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
  ];

  // Nothing here touches Redis, so these run concurrently (each spawn pays tsx's ~1 s start-up).
  it.concurrent.for(cases)('%s', async ([, args, message], ctx) => {
    const { expect } = ctx;
    const cli = runCli(ctx, args);
    const { code } = await exitOf(cli);
    expect(code).toBe(2);
    const lines = cli.stderr().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lovage: error: /);
    expect(lines[0]).toMatch(message);
    expect(cli.stdout()).toBe('');
  });
});

describe('lovage worker', () => {
  const startWorker = (ctx: TestContext, args: string[]) =>
    runCli(ctx, ['worker', ...args], { LOVAGE_TEST_PREFIX: prefix, LOVAGE_TEST_QUEUE: queue });

  beforeAll(() => {
    redis = new Redis(STATE);
    backendRedis = new Redis(BACKEND);
  });

  afterAll(async () => {
    await Promise.all([redis.quit(), backendRedis.quit()]);
  });

  beforeEach(() => {
    const id = randomUUID().slice(0, 8);
    prefix = `lovage-cli-test-${id}:`;
    queue = `cli-${id}`;
  });

  afterEach(async () => {
    await Promise.all(
      apps.splice(0).map(async (a) => {
        await a.broker.purge(queue).catch(() => undefined);
        await a.close();
      }),
    );
    await deleteByPattern(redis, `${prefix}*`);
    for (const id of taskIds.splice(0)) await backendRedis.del(`celery-task-meta-${id}`);
  });

  it('runs a task from a TypeScript tasks module that imports @lovage/runtime', async (ctx) => {
    const cli = startWorker(ctx, ['-A', fixture('app.ts'), '-Q', queue, '-c', '2', '-n', 'cli-test@%h']);
    const ready = await cli.waitForLog('worker ready');
    expect(ready.queues).toEqual([queue]);
    expect(ready.worker).toMatch(/^cli-test@./);
    expect(ready.concurrency).toBe(2);

    const app = senderApp();
    const result = await send(app, 'fixture.add', [2, 3]);
    expect(await result.get({ timeout: 10 })).toBe(5);

    // A promise rejected with nobody listening is logged; the worker keeps going.
    const stray = await send(app, 'fixture.stray', []);
    expect(await stray.get({ timeout: 10 })).toBe('returned');
    const logged = await cli.waitForLog(/^unhandled promise rejection/);
    expect(logged.err).toMatchObject({ message: 'nobody awaited this' });
    const after = await send(app, 'fixture.add', [20, 22]);
    expect(await after.get({ timeout: 10 })).toBe(42);
    expect(cli.child.exitCode).toBeNull();
  });

  it('finishes the running task on SIGTERM (warm shutdown) and exits 0', async (ctx) => {
    const cli = startWorker(ctx, ['-A', fixture('app.ts'), '-Q', queue]);
    await cli.waitForLog('worker ready');
    const app = senderApp();
    const result = await send(app, 'fixture.slow', [1500]);
    await cli.waitForLog('fixture.slow running');

    cli.child.kill('SIGTERM');
    await cli.waitForLog(/^warm shutdown/);
    const { code } = await exitOf(cli);
    expect(code).toBe(0);
    expect(await result.get({ timeout: 5 })).toBe('finished');
    const stopped = await cli.waitForLog('worker stopped');
    expect(stopped).toMatchObject({ processed: 1, cold: false });
  });

  it('stops at once on a second signal (cold shutdown) and exits 0', async (ctx) => {
    const cli = startWorker(ctx, ['-A', fixture('app.ts'), '-Q', queue]);
    await cli.waitForLog('worker ready');
    const app = senderApp();
    const result = await send(app, 'fixture.slow', [60_000]);
    await cli.waitForLog('fixture.slow running');

    cli.child.kill('SIGINT');
    await cli.waitForLog(/^warm shutdown/);
    cli.child.kill('SIGINT');
    await cli.waitForLog(/^cold shutdown/);
    const { code } = await exitOf(cli, 10_000);
    expect(code).toBe(0);
    expect(await result.state()).toBe('PENDING');
  });

  it('loads a CommonJS (.cts) tasks module', async (ctx) => {
    const cli = startWorker(ctx, ['-A', fixture('app.cts'), '-Q', queue]);
    const loaded = await cli.waitForLog('tasks module loaded');
    expect(loaded.tasks).toEqual(['fixture.cjs-mul']);
    await cli.waitForLog('worker ready');

    const app = senderApp();
    const result = await send(app, 'fixture.cjs-mul', [6, 7]);
    expect(await result.get({ timeout: 10 })).toBe(42);
  });

  it('passes --broker and --result-backend to the tasks module', async (ctx) => {
    const broker = 'redis://localhost:6379/0'; // the fixture's default is 127.0.0.1
    const cli = startWorker(ctx, ['-A', fixture('app.ts'), '--broker', broker, '--result-backend', BACKEND]);
    const ready = await cli.waitForLog('worker ready');
    expect(ready.broker).toBe(broker);
    cli.child.kill('SIGTERM');
    expect((await exitOf(cli)).code).toBe(0);
  });
});
