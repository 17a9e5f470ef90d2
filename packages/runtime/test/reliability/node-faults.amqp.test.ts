/**
 * RabbitMQ faults that reach a whole node, on a node of this file's own (PrivateRabbit, started once): the
 * application stopped and started during a steady stream (classic and quorum queues), a memory or disk alarm
 * that blocks publishers, the node frozen (SIGSTOP: only heartbeats notice), and a
 * delivery held past a short `consumer_timeout`. Each scenario has its own vhost.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, PublishError, Worker, type App } from '../../src/index';
import { TEST_BACKEND_URL } from '../../src/testing/test-broker';
import { PrivateRabbit } from '../private-rabbit';
import { expectNothingLost, streamThrough } from './amqp-stream';
import { uniq, waitFor } from './helpers';

const CONSUMER_TIMEOUT_MS = 2000;
let node: PrivateRabbit;

beforeAll(async () => {
  // The consumer timeout is checked on every channel tick: every 500 ms instead of every minute.
  node = await PrivateRabbit.start({ consumer_timeout: CONSUMER_TIMEOUT_MS }, { channel_tick_interval: 500 });
}, 60_000);
afterAll(async () => {
  await node?.destroy();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function nodeApp(
  publishTimeout: number,
  { heartbeat = 60, queueType = 'classic' as 'classic' | 'quorum' } = {},
): Promise<App> {
  const url = await node.addVhost(`lovage-${randomUUID()}`);
  const app = createApp({
    broker: url,
    backend: TEST_BACKEND_URL,
    brokerTransportOptions: {
      globalKeyprefix: `${uniq('node')}:`,
      publishTimeout,
      heartbeat,
      queueType,
    },
    logger: pino({ level: 'silent' }),
  });
  cleanups.push(() => app.close());
  return app;
}

async function startWorker(app: App, concurrency: number, prefetchMultiplier = 4): Promise<Worker> {
  const worker = new Worker(app, { concurrency, prefetchMultiplier });
  await worker.start();
  cleanups.push(() => worker.stop());
  return worker;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RabbitMQ stopped and started (stop_app/start_app) during a steady stream', () => {
  it.each(['classic', 'quorum'] as const)(
    '%s queue: nothing sent is lost, delay() never hangs, and the worker resumes consuming',
    async (queueType) => {
      // Shorter than the outage (down 2.5 s at least): calls made early in it fail (PublishError), later ones
      // resolve.
      const app = await nodeApp(2, { queueType });
      app.task('n.echo', async (_ctx, n: number) => n);
      const worker = await startWorker(app, 4);

      const sent = await streamThrough(app, 'n.echo', () => node.restartApp(2500));
      const resolved = await expectNothingLost(sent, 2000 + 1000);
      expect(sent.some((s) => s.error)).toBe(true);
      expect(resolved).toBeGreaterThan(0);
      // Counted once acknowledged, a moment after its result is stored.
      await waitFor('the worker counted them', async () => worker.processed >= resolved);
      // Once the publisher is back (amqplib's backoff may outlast a 2 s publishTimeout), the worker consumes.
      const r = await waitFor('a publish after the restart', () =>
        app.sendTask('n.echo', [-1]).catch(() => null),
      );
      expect(await r.get({ timeout: 10 })).toBe(-1);
      // Remote control came back too (its exclusive queue went with the connection).
      expect(await app.control.ping({ destination: [worker.hostname], timeout: 2 })).toHaveLength(1);
    },
    60_000,
  );
});

// Each alarm raised and cleared by rabbitmqctl; RabbitMQ names it in its connection.blocked reason.
const alarms = {
  memory: {
    raise: () => node.ctl('set_vm_memory_high_watermark', 'absolute', '1'),
    clear: () => node.ctl('set_vm_memory_high_watermark', '0.4'),
  },
  disk: {
    raise: () => node.ctl('set_disk_free_limit', '1000000000000000'),
    clear: () => node.ctl('set_disk_free_limit', '50MB'),
  },
};

describe('a resource alarm', () => {
  it.each(['memory', 'disk'] as const)(
    '%s: delay() fails within publishTimeout saying RabbitMQ blocks publishers, then succeeds again',
    async (kind) => {
      const app = await nodeApp(2);
      app.task('n.echo', async (_ctx, n: number) => n);
      await startWorker(app, 2);
      expect(await (await app.sendTask('n.echo', [0])).get({ timeout: 10 })).toBe(0);

      await alarms[kind].raise();
      const [written, refused] = [randomUUID(), randomUUID()];
      try {
        // The first is written before RabbitMQ says it blocks the connection and is never confirmed; the
        // second is refused once the connection is known to be blocked. Both fail by the deadline.
        for (const [n, taskId] of [written, refused].entries()) {
          const t0 = Date.now();
          const err = await app.sendTask('n.echo', [n + 1], {}, { taskId }).then(
            () => null,
            (e: unknown) => e,
          );
          expect(Date.now() - t0).toBeLessThan(2000 + 1000);
          expect(err).toBeInstanceOf(PublishError);
          expect((err as Error).message).toMatch(
            new RegExp(`RabbitMQ is blocking publishers \\(.*${kind}.*\\)`),
          );
          expect((err as Error).message.includes('may still store it')).toBe(taskId === written);
        }
      } finally {
        await alarms[kind].clear();
      }
      const r = await waitFor('a publish after the alarm cleared', () =>
        app.sendTask('n.echo', [3]).catch(() => null),
      );
      expect(await r.get({ timeout: 10 })).toBe(3);
      // As its error said: the one written before the block was stored once the alarm cleared, and ran.
      expect(await app.asyncResult(written).get({ timeout: 10 })).toBe(1);
    },
    60_000,
  );
});

describe('a delivery held past the consumer timeout', () => {
  it('closes the channel; the worker consumes again, does not exit, and loses nothing', async () => {
    const app = await nodeApp(5);
    const runs = new Map<string, number>();
    const count = (id: string) => {
      const n = (runs.get(id) ?? 0) + 1;
      runs.set(id, n);
      return n;
    };
    // Held past the timeout on its first run (acksLate: unacknowledged while it runs).
    app.task(
      'n.hold',
      async (ctx) => {
        if (count(ctx.id) === 1) await sleep(CONSUMER_TIMEOUT_MS + 1500);
        return 'held';
      },
      { acksLate: true },
    );
    app.task('n.quick', async (ctx) => count(ctx.id));
    // One slot, a window of two: the quick task waits, unacknowledged, behind the held one.
    const worker = await startWorker(app, 1, 2);

    const held = await app.sendTask('n.hold', []);
    await waitFor('the held task running', async () => runs.has(held.id));
    const waiting = await app.sendTask('n.quick', []);
    expect(await held.get({ timeout: 20 })).toBe('held');
    expect(await waiting.get({ timeout: 20 })).toBe(1);
    // RabbitMQ took the held task back and delivered it again: it ran twice. The waiting one never started
    // on the closed channel, so it ran once.
    await waitFor('the held task redelivered', async () => runs.get(held.id) === 2);
    expect(runs.get(waiting.id)).toBe(1);

    const after = await app.sendTask('n.quick', []);
    expect(await after.get({ timeout: 10 })).toBe(1);
    await waitFor('the worker counted them', async () => worker.processed >= 3);
  }, 60_000);
});

describe('a node that stops answering without closing anything (frozen: no reset, no close)', () => {
  it('heartbeats notice; delay() fails in time meanwhile; once it answers again nothing is lost', async () => {
    const app = await nodeApp(2, { heartbeat: 1 });
    app.task('n.echo', async (_ctx, n: number) => n);
    const worker = await startWorker(app, 4);
    expect(await (await app.sendTask('n.echo', [-1])).get({ timeout: 10 })).toBe(-1);
    const broker = app.broker as unknown as { pub: { generation: number }; sub: { generation: number } };
    const [pub, sub] = [broker.pub.generation, broker.sub.generation];

    const sent = await streamThrough(app, 'n.echo', async () => {
      node.pause();
      try {
        await sleep(4000);
      } finally {
        node.resume();
      }
    });
    expect(sent.some((s) => s.error)).toBe(true);
    await expectNothingLost(sent, 2000 + 1000);
    // Both connections were found dead by their heartbeats and replaced.
    expect(broker.pub.generation).toBeGreaterThan(pub);
    expect(broker.sub.generation).toBeGreaterThan(sub);
    const r = await waitFor('a publish once the node answers', () =>
      app.sendTask('n.echo', [-2]).catch(() => null),
    );
    expect(await r.get({ timeout: 10 })).toBe(-2);
    expect(await app.control.ping({ destination: [worker.hostname], timeout: 2 })).toHaveLength(1);
  }, 60_000);
});
