/**
 * WorkerEventPublisher and EventReceiver against the real Redis: what a worker sends (online, heartbeats,
 * task events batched as task.multi, offline), on which channels, in Celery's shape; that task events
 * follow `taskEvents`; that publishing failures never reach the caller; that the receiver survives junk.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventReceiver, SW_VERSION, WorkerEventPublisher, type Broker, type CeleryEvent } from '../../src';
import { RedisBroker } from '../../src/adapters/redis';
import { REDIS_URL, deleteMatching, silentLogger, uniquePrefix, waitFor } from '../helpers';

interface Wire {
  channel: string;
  envelope: {
    body: string;
    headers: Record<string, unknown>;
    properties: Record<string, unknown> & { delivery_info: { exchange: string; routing_key: string } };
    'content-type': string;
  };
  body: unknown;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A broker under a fresh prefix, and every message published on its celeryev channels, raw. */
async function setup() {
  const prefix = uniquePrefix();
  const broker = new RedisBroker(REDIS_URL, { globalKeyprefix: prefix });
  const sub = new Redis(REDIS_URL);
  const wire: Wire[] = [];
  sub.on('pmessage', (_p: string, channel: string, msg: string) => {
    try {
      const envelope = JSON.parse(msg) as Wire['envelope'];
      const body: unknown = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8'));
      wire.push({ channel, envelope, body });
    } catch {
      // junk published by a test on purpose
    }
  });
  await sub.psubscribe(`${prefix}/0.celeryev/*`);
  cleanups.push(async () => {
    sub.disconnect();
    await broker.close();
    await deleteMatching(REDIS_URL, `${prefix}*`);
  });
  return { prefix, broker, wire };
}

const stats = () => ({ active: 1, processed: 42, lovage: { pool: 'async', concurrency: 4 } });

describe('WorkerEventPublisher', () => {
  it('sends worker-online, heartbeats and worker-offline in Celery shape, even without task events', async () => {
    const { prefix, broker, wire } = await setup();
    const pub = new WorkerEventPublisher(broker, {
      hostname: 'w1@test',
      taskEvents: false,
      freq: 0.2,
      stats,
    });
    await pub.start();
    await waitFor(() => wire.filter((w) => w.channel.endsWith('worker.heartbeat')).length >= 2, {
      what: 'two timer heartbeats',
    });
    pub.task('task-received', { uuid: 'not-sent' });
    await pub.heartbeat(5);
    await pub.stop();
    await waitFor(() => wire.some((w) => w.channel.endsWith('worker.offline')), { what: 'worker-offline' });

    expect(wire[0]!.channel).toBe(`${prefix}/0.celeryev/worker.online`);
    expect(wire.at(-1)!.channel).toBe(`${prefix}/0.celeryev/worker.offline`);
    expect(wire.some((w) => w.channel.includes('task.'))).toBe(false);
    const online = wire[0]!;
    expect(online.envelope['content-type']).toBe('application/json');
    expect(online.envelope.headers).toEqual({ hostname: 'w1@test' });
    expect(online.envelope.properties).toMatchObject({
      delivery_mode: 1,
      priority: 0,
      body_encoding: 'base64',
      delivery_info: { exchange: 'celeryev', routing_key: 'worker.online' },
    });
    const body = online.body as Record<string, unknown>;
    expect(body).toMatchObject({
      hostname: 'w1@test',
      pid: process.pid,
      freq: 0.2,
      active: 1,
      processed: 42,
      sw_ident: 'lovage',
      sw_ver: SW_VERSION,
      sw_sys: os.type(),
      lovage: { pool: 'async', concurrency: 4 },
      type: 'worker-online',
    });
    expect(body.utcoffset).toBe(Math.floor(new Date().getTimezoneOffset() / 60));
    expect(body.loadavg).toHaveLength(3);
    expect(typeof body.timestamp).toBe('number');
    expect(Math.abs((body.timestamp as number) - Date.now() / 1000)).toBeLessThan(10);
    const prompted = wire.find((w) => (w.body as { freq: number }).freq === 5);
    expect(prompted?.channel).toMatch(/worker\.heartbeat$/);
    // Lamport clock: strictly increasing per sender.
    const clocks = wire.map((w) => (w.body as { clock: number }).clock);
    expect(clocks).toEqual([...clocks].sort((a, b) => a - b));
    expect(new Set(clocks).size).toBe(clocks.length);
  });

  it('batches task events as task.multi arrays, in order, and only while taskEvents is on', async () => {
    const { prefix, broker, wire } = await setup();
    const pub = new WorkerEventPublisher(broker, { hostname: 'w2@test', taskEvents: true, stats });
    await pub.start();
    pub.task('task-received', {
      uuid: 'u1',
      name: 'proj.add',
      args: '(2, 3)',
      kwargs: '{}',
      root_id: 'u1',
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
    });
    pub.task('task-started', { uuid: 'u1' });
    pub.task('task-succeeded', { uuid: 'u1', result: '5', runtime: 0.01 });
    await waitFor(() => wire.some((w) => w.channel.endsWith('task.multi')), { what: 'task.multi' });
    const multi = wire.filter((w) => w.channel === `${prefix}/0.celeryev/task.multi`);
    expect(multi).toHaveLength(1);
    const batch = multi[0]!.body as Record<string, unknown>[];
    expect(Array.isArray(batch)).toBe(true);
    expect(batch.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(batch[0]).toMatchObject({ hostname: 'w2@test', name: 'proj.add', args: '(2, 3)', uuid: 'u1' });
    expect(batch[2]).toMatchObject({ result: '5', runtime: 0.01 });
    for (const e of batch)
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['utcoffset', 'pid', 'clock', 'timestamp']));

    // 250 events in one tick: messages of at most 100, in order.
    for (let i = 0; i < 250; i++) pub.task('task-started', { uuid: `bulk-${i}` });
    await waitFor(() => wire.filter((w) => w.channel.endsWith('task.multi')).length >= 4, { what: 'bulk' });
    const bulk = wire
      .filter((w) => w.channel.endsWith('task.multi'))
      .slice(1)
      .map((w) => w.body as { uuid: string }[]);
    expect(bulk.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(bulk.flat().map((e) => e.uuid)).toEqual(Array.from({ length: 250 }, (_, i) => `bulk-${i}`));

    pub.taskEvents = false; // disable_events
    pub.task('task-started', { uuid: 'dropped' });
    await pub.flush();
    await pub.stop();
    await waitFor(() => wire.some((w) => w.channel.endsWith('worker.offline')), { what: 'offline' });
    expect(JSON.stringify(wire.map((w) => w.body))).not.toContain('dropped');
  });

  it('never throws into the caller when publishing fails, and logs once', async () => {
    const failing = {
      broadcast: vi.fn(() => Promise.reject(new Error('connection lost'))),
    } as unknown as Broker;
    const logger = silentLogger();
    const warn = vi.spyOn(logger, 'warn');
    const pub = new WorkerEventPublisher(failing, {
      hostname: 'w3@test',
      taskEvents: true,
      stats: () => {
        throw new Error('stats broke');
      },
      logger,
    });
    await expect(pub.start()).resolves.toBeUndefined();
    for (let i = 0; i < 5; i++) pub.task('task-started', { uuid: `x${i}` });
    await pub.flush();
    await expect(pub.heartbeat()).resolves.toBeUndefined();
    await expect(pub.stop()).resolves.toBeUndefined();
    expect(failing.broadcast).toHaveBeenCalled();
    const sendWarnings = warn.mock.calls.filter((c) => String(c[1]).includes('could not send events'));
    expect(sendWarnings).toHaveLength(1);
  });
});

describe('EventReceiver', () => {
  it('hands over single events and batches, and counts and skips malformed messages', async () => {
    const { prefix, broker } = await setup();
    const receiver = new EventReceiver(broker);
    const got: CeleryEvent[][] = [];
    await receiver.start((events) => got.push(events));
    cleanups.push(() => receiver.stop());
    const pub = new WorkerEventPublisher(broker, { hostname: 'w4@test', taskEvents: true, stats });
    const raw = new Redis(REDIS_URL);
    cleanups.push(async () => raw.disconnect());
    const channel = `${prefix}/0.celeryev/task.multi`;
    const envelope = (body: string) =>
      JSON.stringify({
        body: Buffer.from(body).toString('base64'),
        'content-encoding': 'utf-8',
        'content-type': 'application/json',
        headers: { hostname: 'junk@test' },
        properties: { delivery_tag: 'x', body_encoding: 'base64', delivery_info: { exchange: 'celeryev' } },
      });
    await raw.publish(channel, envelope('not json'));
    await raw.publish(channel, envelope('[1, {"type": "task-started"}]'));
    await raw.publish(channel, 'not even an envelope');
    await pub.start();
    pub.task('task-started', { uuid: 'r1' });
    pub.task('task-succeeded', { uuid: 'r1', result: 'None', runtime: 0 });
    await waitFor(() => got.some((b) => b.some((e) => e.type === 'task-succeeded')), { what: 'events' });
    await pub.stop();
    await waitFor(() => got.flat().some((e) => e.type === 'worker-offline'), { what: 'offline' });
    // A body that is not JSON (1) and a batch with two bad elements (2); the envelope that is not JSON
    // never reaches the receiver (the broker drops it).
    expect(receiver.malformed).toBe(3);
    const types = got.flat().map((e) => e.type);
    expect(types).toEqual(['worker-online', 'task-started', 'task-succeeded', 'worker-offline']);
    expect(got.find((b) => b.length === 2)!.map((e) => e.type)).toEqual(['task-started', 'task-succeeded']);
  });
});
