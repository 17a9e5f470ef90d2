/**
 * Malformed messages never stop a worker and never vanish: each lands in the queue's dead letters, raw,
 * with the reason, and the worker goes on serving.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, Worker, type App } from '../../src/index';
import { REDIS, uniq, waitFor } from './helpers';
import { deleteMatching } from '../helpers';

const redis = new Redis(REDIS);
const prefix = `${uniq('malformed')}:`;
const queue = uniq('q');
let app: App;
let worker: Worker;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const goodHeaders = (task = 'ok.add') => ({
  lang: 'py',
  task,
  id: randomUUID(),
  retries: 0,
  timelimit: [null, null],
});
function envelope(over: {
  body?: string;
  headers?: unknown;
  contentType?: string | null;
  properties?: unknown;
}) {
  const env: Record<string, unknown> = {
    body: over.body ?? b64(JSON.stringify([[1, 2], {}, {}])),
    'content-encoding': 'utf-8',
    'content-type': over.contentType === undefined ? 'application/json' : over.contentType,
    headers: over.headers ?? goodHeaders(),
    properties: over.properties ?? {
      delivery_tag: randomUUID(),
      body_encoding: 'base64',
      delivery_info: { exchange: '', routing_key: queue },
      priority: 0,
    },
  };
  if (over.contentType === null) delete env['content-type'];
  return JSON.stringify(env);
}

const cases: { name: string; raw: string; reason: RegExp }[] = [
  {
    name: 'a body that is not a 3-element array',
    raw: envelope({ body: b64('[[1,2],{}]') }),
    reason: /3-element array/,
  },
  {
    name: 'an envelope without delivery_tag',
    raw: envelope({ properties: { body_encoding: 'base64', priority: 0 } }),
    reason: /delivery_tag/,
  },
  { name: 'no content type', raw: envelope({ contentType: null }), reason: /no content type/ },
  {
    name: 'text/plain content',
    raw: envelope({ contentType: 'text/plain' }),
    reason: /unsupported content type/,
  },
  { name: 'an envelope that is not JSON', raw: '{"body": "abc", nope', reason: /not valid JSON/ },
  { name: 'a body that is not base64', raw: envelope({ body: '!!!not-base64!!!' }), reason: /base64/ },
  {
    name: 'a body that is not JSON',
    raw: envelope({ body: b64('[[1,2],{},{}') }),
    reason: /body is not valid JSON/,
  },
  {
    name: 'no task or id header',
    raw: envelope({ headers: { lang: 'py' } }),
    reason: /header task is missing/,
  },
  {
    name: 'a missing id header',
    raw: envelope({ headers: { lang: 'py', task: 'ok.add' } }),
    reason: /header id/,
  },
  {
    name: 'args that are not a list',
    raw: envelope({ body: b64('[{"a":1},{},{}]') }),
    reason: /args must be a list/,
  },
  {
    name: 'kwargs that are not an object',
    raw: envelope({ body: b64('[[1],[2],{}]') }),
    reason: /kwargs must be an object/,
  },
  {
    name: 'an eta that is not a date',
    raw: envelope({ headers: { ...goodHeaders(), eta: 'tomorrow-ish' } }),
    reason: /eta/,
  },
  {
    name: 'an unknown task name',
    raw: envelope({ headers: goodHeaders('no.such.task') }),
    reason: /unregistered task/,
  },
];

beforeAll(async () => {
  app = createApp({
    broker: REDIS,
    backend: 'redis://127.0.0.1:6379/1',
    brokerTransportOptions: { globalKeyprefix: prefix },
    logger: pino({ level: 'silent' }),
  });
  app.task('ok.add', (_ctx, a: number, b: number) => a + b);
  worker = new Worker(app, { queues: [queue], concurrency: 2 });
  await worker.start();
});

afterAll(async () => {
  await worker.stop();
  await app.close();
  await deleteMatching(REDIS, `${prefix}*`);
  redis.disconnect();
});

describe('malformed messages', () => {
  it.each(cases)('$name: dead-lettered with its reason, worker alive', async ({ raw, reason }) => {
    const before = (await app.state.deadLetters.list(queue, 0, 1000)).length;
    await redis.lpush(`${prefix}${queue}`, raw);
    const letters = await waitFor('the dead letter', async () => {
      const all = await app.state.deadLetters.list(queue, 0, 1000);
      return all.length > before ? all : null;
    });
    const newest = letters[0]!;
    expect(newest.raw).toBe(raw);
    expect(newest.queue).toBe(queue);
    expect(newest.reason).toMatch(reason);
    // The worker still serves.
    const r = await app.sendTask('ok.add', [2, 3], {}, { queue });
    expect(await r.get({ timeout: 10 })).toBe(5);
    await r.forget();
    // An unknown task's NotRegistered FAILURE was stored under the message's id.
    if (reason.source.includes('unregistered')) {
      const id = (JSON.parse(raw) as { headers: { id: string } }).headers.id;
      expect(await app.asyncResult(id).state()).toBe('FAILURE');
      await app.asyncResult(id).forget();
    }
    // Nothing stays in flight or in the queue.
    expect(await app.broker.queueLength(queue)).toBe(0);
  });

  it('stores FAILURE NotRegistered for an unknown task, so a waiting client learns it', async () => {
    const r = await app.sendTask('no.such.task', [1], {}, { queue });
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({
      name: 'NotRegistered',
      message: 'no.such.task',
    });
    await r.forget();
  });

  it('requeues a dead letter once its cause is fixed, and deletes one', async () => {
    const r = await app.sendTask('late.task', [20], {}, { queue });
    const letter = await waitFor('the dead letter', async () =>
      (await app.state.deadLetters.list(queue, 0, 1000)).find((l) => l.raw.includes(r.id)),
    );
    app.task('late.task', (_ctx, n: number) => n + 1);
    expect(await app.state.deadLetters.requeue(queue, letter.id, app.broker)).toBe(true);
    // A stored NotRegistered FAILURE is overwritten by the new outcome (only SUCCESS is final).
    await waitFor('the requeued task to succeed', async () => (await r.state()) === 'SUCCESS');
    expect(await r.get({ timeout: 5 })).toBe(21);
    await r.forget();
    expect((await app.state.deadLetters.list(queue, 0, 1000)).some((l) => l.id === letter.id)).toBe(false);

    await redis.lpush(`${prefix}${queue}`, 'not json at all');
    const bad = await waitFor('the dead letter', async () =>
      (await app.state.deadLetters.list(queue, 0, 1000)).find((l) => l.raw === 'not json at all'),
    );
    expect(await app.state.deadLetters.delete(queue, bad.id)).toBe(true);
    expect(await app.state.deadLetters.delete(queue, bad.id)).toBe(false);
    expect((await app.state.deadLetters.list(queue, 0, 1000)).some((l) => l.id === bad.id)).toBe(false);
  });
});
