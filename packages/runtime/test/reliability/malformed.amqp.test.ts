/**
 * Malformed messages on RabbitMQ, as another client may publish them (amqplib here, with the properties and
 * headers it is given): each lands in the queue's dead letters in the state store with its reason, the worker
 * goes on serving, and nothing stays in the queue or unacknowledged.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type Options } from 'amqplib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, Worker, type App } from '../../src/index';
import { deleteMatching, REDIS_URL, uniquePrefix } from '../helpers';
import { waitFor } from './helpers';

const vhost = `lovage-malformed-${randomUUID()}`;
const url = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
const ctl = (...args: string[]) => execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'pipe' });
const prefix = uniquePrefix();
const queue = `q-${randomUUID()}`;
let app: App;
let worker: Worker;
let conn: ChannelModel;
let ch: Channel;

const goodHeaders = (task = 'ok.add') => ({ lang: 'py', task, id: randomUUID(), retries: 0 });

interface Case {
  name: string;
  body: string;
  options: Options.Publish;
  reason: RegExp;
}

const json = { contentType: 'application/json', contentEncoding: 'utf-8' };
const cases: Case[] = [
  {
    name: 'a body that is not JSON',
    body: '[[1,2],{},{}',
    options: { ...json, headers: goodHeaders() },
    reason: /body is not valid JSON/,
  },
  {
    name: 'a body that is not a 3-element array',
    body: '[[1,2],{}]',
    options: { ...json, headers: goodHeaders() },
    reason: /3-element array/,
  },
  {
    name: 'pickle content',
    body: '\u0080\u0004K\u0001.',
    options: { contentType: 'application/x-python-serialize', headers: goodHeaders() },
    reason: /unsupported content type/,
  },
  {
    name: 'no content type',
    body: '[[1,2],{},{}]',
    options: { headers: goodHeaders() },
    reason: /no content type/,
  },
  {
    name: 'no task header',
    body: '[[1,2],{},{}]',
    options: { ...json, headers: { lang: 'py' } },
    reason: /header task is missing/,
  },
  {
    name: 'no headers at all',
    body: '[[1,2],{},{}]',
    options: { ...json },
    reason: /header task is missing/,
  },
  {
    name: 'kwargs that are not an object',
    body: '[[1],[2],{}]',
    options: { ...json, headers: goodHeaders() },
    reason: /kwargs must be an object/,
  },
  {
    name: 'an eta that is not a date',
    body: '[[1,2],{},{}]',
    options: { ...json, headers: { ...goodHeaders(), eta: 'tomorrow-ish' } },
    reason: /eta/,
  },
  {
    name: 'an unknown task name',
    body: '[[1,2],{},{}]',
    options: { ...json, headers: goodHeaders('no.such.task') },
    reason: /unregistered task/,
  },
];

beforeAll(async () => {
  ctl('add_vhost', vhost);
  ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  app = createApp({
    broker: url,
    backend: 'redis://127.0.0.1:6379/1',
    state: REDIS_URL,
    brokerTransportOptions: { globalKeyprefix: prefix },
    logger: pino({ level: 'silent' }),
  });
  app.task('ok.add', (_ctx, a: number, b: number) => a + b);
  worker = new Worker(app, { queues: [queue], concurrency: 2 });
  await worker.start();
  conn = await amqp.connect(url);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await worker?.stop();
  await app?.close();
  await conn?.close().catch(() => undefined);
  await deleteMatching(REDIS_URL, `${prefix}*`);
  ctl('delete_vhost', vhost);
});

describe('malformed messages on RabbitMQ', () => {
  it.each(cases)('$name: dead-lettered with its reason, worker alive', async ({ body, options, reason }) => {
    const before = (await app.state.deadLetters.list(queue, 0, 1000)).length;
    // Straight into the worker's queue (its name carries the app's prefix), as any client could.
    ch.sendToQueue(`${prefix}${queue}`, Buffer.from(body, 'latin1'), options);
    const letters = await waitFor('the dead letter', async () => {
      const all = await app.state.deadLetters.list(queue, 0, 1000);
      return all.length > before ? all : null;
    });
    const newest = letters[0]!;
    expect(newest.queue).toBe(queue);
    expect(newest.reason).toMatch(reason);
    expect(newest.consumer).toMatch(/\w/);
    // Kept as received, byte for byte: a body that is not UTF-8 in base64, as kombu's envelope keeps it.
    const bytes = Buffer.from(body, 'latin1');
    const utf8 = Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
    const kept = JSON.parse(newest.raw) as { body: string; properties: { body_encoding?: string } };
    expect(Buffer.from(kept.body, utf8 ? 'utf8' : 'base64').equals(bytes)).toBe(true);
    expect(kept.properties.body_encoding).toBe(utf8 ? undefined : 'base64');
    // The worker still serves.
    const r = await app.sendTask('ok.add', [2, 3], {}, { queue });
    expect(await r.get({ timeout: 10 })).toBe(5);
    await r.forget();
    if (reason.source.includes('unregistered')) {
      const id = (options.headers as { id: string }).id;
      expect(await app.asyncResult(id).state()).toBe('FAILURE');
      await app.asyncResult(id).forget();
    }
    // Nothing stays ready or unacknowledged.
    expect(await app.broker.queueLength(queue)).toBe(0);
    expect((await app.broker.queueStats(queue)).consumers).toBe(1);
  });
});
