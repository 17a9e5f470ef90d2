/**
 * RabbitMQ faults on the machine's node, scoped to a vhost of this file's own (deleted after): a worker
 * process SIGKILLed mid-task with `acksLate`, and RabbitMQ closing every connection of the vhost during a
 * steady stream of delay() calls. Runs are counted per task id in Redis.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, Worker, type App } from '../../src/index';
import { TEST_BACKEND_URL, TEST_REDIS_URL } from '../../src/testing/test-broker';
import { expectNothingLost, streamThrough } from './amqp-stream';
import { kill, startWorkerProcess, uniq, waitFor } from './helpers';

const run = promisify(execFile);
const ctl = (...args: string[]) => run('rabbitmqctl', ['-q', ...args]);
const vhost = `lovage-faults-${randomUUID()}`;
const url = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;

beforeAll(async () => {
  await ctl('add_vhost', vhost);
  await ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
});
afterAll(async () => {
  await ctl('delete_vhost', vhost);
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

function amqpApp(prefix: string, publishTimeout = 30): App {
  const app = createApp({
    broker: url,
    backend: TEST_BACKEND_URL,
    brokerTransportOptions: { globalKeyprefix: prefix, publishTimeout },
    logger: pino({ level: 'silent' }),
  });
  cleanups.push(() => app.close());
  return app;
}

describe('a worker SIGKILLed mid-task with acksLate', () => {
  it('each task completes on a second worker; only those in flight run twice', async () => {
    const prefix = `${uniq('kill')}:`;
    const queue = uniq('q');
    const env = {
      PREFIX: prefix,
      QUEUE: queue,
      CONCURRENCY: '2',
      BROKER: url,
      BACKEND: TEST_BACKEND_URL,
      RECORD: TEST_REDIS_URL,
      ACKS_LATE: '1',
    };
    const record = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => {
      await record.del(`${prefix}starts`, `${prefix}finishes`);
      record.disconnect();
    });
    const app = amqpApp(prefix);
    const first = await startWorkerProcess(env);
    cleanups.push(() => kill(first));
    // Two run at once, six more wait in the first worker's prefetch window (2 x 4).
    const results = await Promise.all(
      Array.from({ length: 8 }, () => app.sendTask('rel.slow', [1500], {}, { queue })),
    );
    const inFlight = await waitFor('two tasks running', async () => {
      const starts = await record.hkeys(`${prefix}starts`);
      return starts.length >= 2 ? starts : null;
    });
    await kill(first);
    const second = await startWorkerProcess(env);
    cleanups.push(() => kill(second, 'SIGTERM'));

    expect(await Promise.all(results.map((r) => r.get({ timeout: 30 })))).toEqual(results.map(() => 1500));
    const starts = await record.hgetall(`${prefix}starts`);
    const finishes = await record.hgetall(`${prefix}finishes`);
    for (const r of results) {
      expect(starts[r.id]).toBe(inFlight.includes(r.id) ? '2' : '1');
      expect(finishes[r.id]).toBe('1');
    }
    expect(inFlight).toHaveLength(2);
  }, 60_000);
});

describe('RabbitMQ closes every connection during a steady stream', () => {
  it('nothing sent is lost, delay() never hangs, and the worker resumes consuming', async () => {
    const app = amqpApp(`${uniq('close')}:`, 5);
    const runs = new Map<number, number>();
    app.task('f.echo', async (_ctx, n: number) => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
      return n;
    });
    const worker = new Worker(app, { concurrency: 4 });
    await worker.start();
    cleanups.push(() => worker.stop());
    const broker = app.broker as unknown as { sub: { generation: number } };

    const generation = broker.sub.generation;
    const sent = await streamThrough(app, 'f.echo', async () => {
      await ctl('close_all_connections', '-p', vhost, 'test: a network cut');
      await waitFor('the consuming connection back', async () => broker.sub.generation > generation);
      await new Promise((r) => setTimeout(r, 300));
      await ctl('close_all_connections', '-p', vhost, 'test: a second cut');
    });
    const resolved = await expectNothingLost(sent, 5000 + 2000);
    // The cuts cost a reconnect each, not the stream: most calls resolve.
    expect(resolved).toBeGreaterThan(sent.length / 2);
    // Counted once acknowledged, a moment after its result is stored.
    await waitFor('the worker counted them', async () => worker.processed >= resolved);
    for (const s of sent) if (s.result) expect(runs.get(s.n)).toBeGreaterThanOrEqual(1);
    // Remote control came back too (its exclusive queue went with the connection).
    expect(await app.control.ping({ destination: [worker.hostname], timeout: 2 })).toHaveLength(1);
  }, 60_000);
});
