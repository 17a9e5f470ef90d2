/**
 * The remote commands on a RabbitMQ broker given by URL (`--broker amqp://…`), on a vhost of this file's own
 * (deleted after). What differs from Redis: RabbitMQ cannot hold Lovage's records, so the state store is
 * `--state`, else LOVAGE_STATE_URL, else the result backend's Redis; with none of them every command says
 * what to set (exit 2) instead of failing inside the runtime. Keys live under a prefix of this file's own
 * on Redis db 0 (state) and db 1 (backend), removed after.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createApp, type App } from '@lovage/runtime';
import { prepareTestBroker, TEST_BACKEND_URL, TEST_REDIS_URL } from '@lovage/runtime/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateUrlFor } from '../src/connect';
import { UsageError } from '../src/errors';
import { deleteByPattern } from './support/redis-keys';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'apps/worker/bin/lovage.mjs');
const FIXTURE = path.join('apps/worker/test/fixtures', 'commands-app.ts');
const id = randomUUID().slice(0, 8);
const prefix = `lovage-amqp-cli-${id}:`;
const queue = `amqp-cli-${id}`;
const hostname = `amqp-cli-${id}@test`;
/** No connection URL from the test run's own environment: each command gets exactly what the test gives. */
const bare = {
  LOVAGE_BROKER_URL: '',
  LOVAGE_STATE_URL: '',
  LOVAGE_RESULT_BACKEND: '',
  LOVAGE_LOG_FORMAT: 'json',
};

let broker = '';
let teardown: () => Promise<void> = async () => undefined;
const redis = { state: new Redis(TEST_REDIS_URL), backend: new Redis(TEST_BACKEND_URL) };

async function lovage(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, ...bare, ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  ({
    broker: { url: broker },
    teardown,
  } = await prepareTestBroker({ TEST_BROKER: 'amqp' }));
});

afterAll(async () => {
  await Promise.all([
    deleteByPattern(redis.state, `${prefix}*`),
    deleteByPattern(redis.backend, `${prefix}*`),
  ]);
  await Promise.all([redis.state.quit(), redis.backend.quit()]);
  await teardown();
});

describe('stateUrlFor', () => {
  it('a Redis broker keeps the app default; RabbitMQ takes --state, else the Redis result backend', () => {
    expect(stateUrlFor('redis://h/0', {})).toBeUndefined();
    expect(stateUrlFor('amqp://h//', { state: 'redis://s/2', resultBackend: 'redis://b/1' })).toBe(
      'redis://s/2',
    );
    expect(stateUrlFor('pyamqp://h//', { resultBackend: 'redis://b/1' })).toBe('redis://b/1');
    expect(() => stateUrlFor('amqp://u:secret@h//', {})).toThrow(UsageError);
    expect(() => stateUrlFor('amqp://u:secret@h//', {})).toThrow(
      /amqp:\/\/u:\*\*\*\*@h\/\/ cannot hold Lovage's records .*--state redis:\/\/… or LOVAGE_STATE_URL/,
    );
  });
});

describe('lovage inspect / control / purge / monitor --broker amqp://…', () => {
  it('without a state store: one line naming --state and LOVAGE_STATE_URL, exit 2', async () => {
    const runs = await Promise.all(
      [['inspect', 'ping'], ['control', 'revoke', 'x'], ['purge', '-f'], ['monitor']].map((cmd) =>
        lovage([...cmd, '--broker', broker]),
      ),
    );
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        /^lovage: error: the broker amqp:\/\/guest:\*\*\*\*@.* cannot hold Lovage's records .*--state redis:\/\/… or LOVAGE_STATE_URL.*\n$/,
      );
    }
  });

  describe('with a worker on the vhost', () => {
    let worker: ReturnType<typeof spawn>;
    let sender: App;
    const target = () => ['--broker', broker, '--key-prefix', prefix];

    beforeAll(async () => {
      const env = {
        ...process.env,
        ...bare,
        LOVAGE_BROKER_URL: broker,
        LOVAGE_RESULT_BACKEND: TEST_BACKEND_URL,
        LOVAGE_STATE_URL: TEST_REDIS_URL,
        LOVAGE_TEST_PREFIX: prefix,
        LOVAGE_TEST_QUEUE: queue,
      };
      worker = spawn(process.execPath, [bin, 'worker', '-A', FIXTURE, '-P', 'async', '-E', '-n', hostname], {
        cwd: root,
        env,
      });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        worker.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('"worker ready"')) resolve();
        });
        worker.on('exit', () => reject(new Error(`worker exited before it was ready\n${out}`)));
      });
      sender = createApp({
        broker,
        backend: TEST_BACKEND_URL,
        state: TEST_REDIS_URL,
        defaultQueue: queue,
        brokerTransportOptions: { globalKeyprefix: prefix },
      });
    });

    afterAll(async () => {
      worker?.kill('SIGKILL');
      await sender?.close();
    });

    it('inspect ping with only LOVAGE_RESULT_BACKEND: its Redis holds the state, the worker answers', async () => {
      const ping = await lovage(['inspect', 'ping', ...target(), '-d', hostname, '-t', '3'], {
        LOVAGE_RESULT_BACKEND: TEST_BACKEND_URL,
      });
      expect(ping).toEqual({
        code: 0,
        stdout: `-> ${hostname}: OK\n    pong\n\n1 node online.\n`,
        stderr: '',
      });
    });

    it('control revoke --state records the id in that Redis and the worker acknowledges it', async () => {
      const taskId = randomUUID();
      const revoke = await lovage([
        'control',
        'revoke',
        taskId,
        ...target(),
        '--state',
        TEST_REDIS_URL,
        '-d',
        hostname,
        '-t',
        '3',
      ]);
      expect(revoke.code, revoke.stderr).toBe(0);
      expect(revoke.stdout).toContain(`-> ${hostname}: OK`);
      expect(await redis.state.zscore(`${prefix}lovage:revoked`, taskId)).not.toBeNull();
    });

    it('purge -f with LOVAGE_STATE_URL empties a RabbitMQ queue and records it in the task index', async () => {
      const idle = `${queue}-idle`;
      for (const n of [1, 2, 3]) await sender.sendTask('cmd.add', [n, n], {}, { queue: idle });
      expect(await sender.broker.queueLength(idle)).toBe(3);
      const purge = await lovage(['purge', '-Q', idle, '-f', ...target()], {
        LOVAGE_STATE_URL: TEST_REDIS_URL,
      });
      expect(purge).toEqual({ code: 0, stdout: 'Purged 3 messages from 1 known task queue.\n', stderr: '' });
      expect(await sender.broker.queueLength(idle)).toBe(0);
      expect(await redis.state.zcard(`${prefix}lovage:index:purges:${idle}`)).toBe(1);
    });

    it('monitor --result-backend alone: the task index lands on the result backend Redis', async () => {
      const monitor = spawn(
        process.execPath,
        [bin, 'monitor', ...target(), '--result-backend', TEST_BACKEND_URL],
        {
          cwd: root,
          env: { ...process.env, ...bare },
        },
      );
      try {
        let out = '';
        monitor.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        const started = Date.now();
        while (!out.includes('"monitor started"')) {
          if (Date.now() - started > 15_000 || monitor.exitCode !== null) throw new Error(`no start\n${out}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const result = await sender.sendTask('cmd.add', [2, 3]);
        expect(await result.get({ timeout: 10 })).toBe(5);
        // The events reach the monitor, which indexes the task under the prefix on db 1, not db 0.
        const indexed = async () => (await redis.backend.keys(`${prefix}lovage:index:*`)).length > 0;
        while (!(await indexed())) {
          if (Date.now() - started > 15_000) throw new Error(`nothing indexed\n${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(await redis.state.keys(`${prefix}lovage:index:task*`)).toEqual([]);
        await redis.backend.del(`celery-task-meta-${result.id}`);
      } finally {
        monitor.kill('SIGKILL');
      }
    });
  });
});
