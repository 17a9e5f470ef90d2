/**
 * The lifecycle-hooks example (examples/pg-pool.ts) as users run it: `lovage worker --pool prefork -c 2`.
 * Each child opens its own PostgreSQL pool in `workerProcessInit` and closes it in `workerProcessShutdown`:
 * tasks are answered by two processes with two different database backends, and after a warm shutdown no
 * connection of theirs is left in pg_stat_activity.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '@lovage/runtime';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'apps/worker/bin/lovage.mjs');
const id = randomUUID().slice(0, 8);
const prefix = `lovage-pg-example-${id}:`;
const queue = `pg-example-${id}`;
const appName = `lovage-test-${id}`;
const PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function connections(): Promise<string[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ application_name: string }>(
      'select application_name from pg_stat_activity where application_name like $1',
      [`${appName}:%`],
    );
    return rows.map((r) => r.application_name);
  } finally {
    await client.end();
  }
}

async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const client = createApp({
  broker: 'redis://127.0.0.1:6379/0',
  backend: 'redis://127.0.0.1:6379/1',
  defaultQueue: queue,
  brokerTransportOptions: { globalKeyprefix: prefix },
});
const ids: string[] = [];

afterAll(async () => {
  await client.close();
  const redis = new Redis('redis://127.0.0.1:6379/0');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.select(1);
  if (ids.length) await redis.del(...ids.map((i) => `celery-task-meta-${i}`));
  redis.disconnect();
});

describe('examples/pg-pool.ts: a database pool per prefork child', () => {
  it('opens one pool per child, uses it in tasks and closes it at shutdown', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'worker', '-A', 'apps/worker/examples/pg-pool.ts', '--pool', 'prefork', '-c', '2', '-Q', queue],
      {
        cwd: root,
        env: {
          ...process.env,
          LOVAGE_LOG_FORMAT: 'json',
          LOVAGE_KEY_PREFIX: prefix,
          LOVAGE_QUEUE: queue,
          LOVAGE_PG_APP_NAME: appName,
          DATABASE_URL: PG_URL,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('worker ready', async () => output.includes('worker ready'), 30_000);
      // Enough slow-ish tasks at once that both children take some.
      const results = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const r = await client.sendTask('pg.whoami', [], {}, { queue });
          ids.push(r.id);
          return r;
        }),
      );
      const answers = (await Promise.all(results.map((r) => r.get({ timeout: 20 })))) as Array<{
        pid: number;
        backend: number;
        app: string;
      }>;
      const pids = new Set(answers.map((a) => a.pid));
      expect(pids.size).toBe(2);
      expect(pids.has(child.pid!)).toBe(false); // children ran them, not the main process
      for (const a of answers) expect(a.app).toBe(`${appName}:${a.pid}`);
      // Each child's pool holds at most 2 connections, none shared between children.
      const open = await connections();
      expect(new Set(open)).toEqual(new Set([...pids].map((p) => `${appName}:${p}`)));

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await until('pools closed', async () => (await connections()).length === 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
