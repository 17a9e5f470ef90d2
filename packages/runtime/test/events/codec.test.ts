/**
 * Event messages: encoding (single events and task.multi arrays), decoding of both shapes, what a decoder
 * does with malformed bodies, and Celery's utcoffset sign.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeEvents,
  encodeEvent,
  encodeEvents,
  eventCommon,
  eventRoutingKey,
  makeEvent,
  MalformedMessageError,
  taskSentEvent,
  utcoffset,
  type InboundMessage,
  type OutgoingMessage,
} from '../../src';

const inbound = (m: OutgoingMessage | { body: string; contentType?: string }): InboundMessage => ({
  headers: 'headers' in m ? m.headers : { hostname: 'w1@vm' },
  properties: {},
  body: m.body,
  contentType: 'contentType' in m ? m.contentType : 'application/json',
});

const raw = (body: unknown, contentType: string | undefined = 'application/json'): InboundMessage => ({
  headers: { hostname: 'hdr@vm' },
  properties: {},
  body: typeof body === 'string' ? body : JSON.stringify(body),
  contentType,
});

describe('encodeEvents', () => {
  it('sends one event as a JSON object, transient, with the sender in the headers', () => {
    const ev = makeEvent('task-started', eventCommon('w1@vm', 7), { uuid: 'abc' });
    const msg = encodeEvent(ev);
    expect(msg.headers).toEqual({ hostname: 'w1@vm' });
    expect(msg.properties.delivery_mode).toBe(1);
    expect(msg.properties.priority).toBe(0);
    expect(msg.contentType).toBe('application/json');
    const body = JSON.parse(msg.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      hostname: 'w1@vm',
      pid: process.pid,
      clock: 7,
      uuid: 'abc',
      type: 'task-started',
    });
    expect(typeof body.timestamp).toBe('number');
    expect(Object.keys(body).slice(0, 4)).toEqual(['hostname', 'utcoffset', 'pid', 'clock']);
    expect(Object.keys(body).slice(-2)).toEqual(['timestamp', 'type']);
  });

  it('sends a batch as a JSON array (task.multi)', () => {
    const c = eventCommon('w1@vm', 1);
    const msg = encodeEvents([
      makeEvent('task-received', c, { uuid: 'a' }),
      makeEvent('task-started', c, { uuid: 'a' }),
    ]);
    const body = JSON.parse(msg.body) as unknown[];
    expect(Array.isArray(body)).toBe(true);
    expect(body).toHaveLength(2);
  });

  it('routes by type with dashes turned into dots', () => {
    expect(eventRoutingKey('task-succeeded')).toBe('task.succeeded');
    expect(eventRoutingKey('worker-heartbeat')).toBe('worker.heartbeat');
  });

  it('builds task-sent as Celery does', () => {
    const ev = taskSentEvent({
      id: 'id-1',
      name: 'proj.add',
      args: [2, 'x'],
      kwargs: { k: true },
      queue: 'emails',
      hostname: 'gen1@host',
      eta: new Date('2030-01-01T00:00:00Z'),
    });
    expect(ev).toMatchObject({
      type: 'task-sent',
      uuid: 'id-1',
      root_id: 'id-1',
      parent_id: null,
      name: 'proj.add',
      args: "(2, 'x')",
      kwargs: "{'k': True}",
      retries: 0,
      eta: '2030-01-01T00:00:00.000000+00:00',
      expires: null,
      queue: 'emails',
      exchange: '',
      routing_key: 'emails',
      hostname: 'gen1@host',
    });
  });
});

describe('decodeEvents', () => {
  it('accepts a single object and a task.multi array alike', () => {
    const c = eventCommon('w1@vm', 3);
    const one = decodeEvents(inbound(encodeEvent(makeEvent('task-started', c, { uuid: 'a' }))));
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ type: 'task-started', uuid: 'a', hostname: 'w1@vm', clock: 3 });
    const many = decodeEvents(
      inbound(
        encodeEvents([
          makeEvent('task-received', c, { uuid: 'a', name: 't' }),
          makeEvent('task-succeeded', c, { uuid: 'a', result: '5', runtime: 0.1 }),
        ]),
      ),
    );
    expect(many.map((e) => e.type)).toEqual(['task-received', 'task-succeeded']);
  });

  it('reads the captured Celery 5.2.6 task.multi body', () => {
    const body = `[{"hostname": "w1@vm", "utcoffset": 0, "pid": 9734, "clock": 21, "uuid": "0670fa49", "name": "spec.myerr", "args": "()", "kwargs": "{}",
  "root_id": "0670fa49", "parent_id": null, "retries": 0, "eta": null, "expires": null, "timestamp": 1795480663.113, "type": "task-received"},
 {"hostname": "w1@vm", "utcoffset": 0, "pid": 9734, "clock": 22, "uuid": "ece6bb5a", "exception": "ValueError('boom')",
  "traceback": "Traceback …", "timestamp": 1795480663.120, "type": "task-failed"}]`;
    const events = decodeEvents(raw(body));
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ type: 'task-failed', exception: "ValueError('boom')" });
  });

  it('accepts a minimal heartbeat and fills the missing common fields', () => {
    const [hb] = decodeEvents(raw({ hostname: 'x@vm', timestamp: 1000.5, type: 'worker-heartbeat' }));
    expect(hb).toMatchObject({ hostname: 'x@vm', timestamp: 1000.5, clock: 0, pid: 0, utcoffset: 0 });
    const before = Date.now() / 1000;
    const [noTs] = decodeEvents(raw({ type: 'task-started', uuid: 'u' }));
    expect(noTs!.hostname).toBe('hdr@vm');
    expect(noTs!.timestamp).toBeGreaterThanOrEqual(before - 1);
  });

  it('throws MalformedMessageError for bodies that are not events', () => {
    for (const body of ['not json', '42', '"str"', 'null']) {
      expect(() => decodeEvents(raw(body))).toThrow(MalformedMessageError);
    }
    expect(() => decodeEvents(raw({ uuid: 'a' }))).toThrow(/no type/);
    expect(() => decodeEvents(raw({ type: 'task-started' }))).toThrow(/no uuid/);
    expect(() => decodeEvents(raw({ type: 'task-started', uuid: 'a', timestamp: 'soon' }))).toThrow(
      /timestamp/,
    );
    expect(() =>
      decodeEvents(raw({ type: 'worker-online', timestamp: 1 }, 'application/json')),
    ).not.toThrow();
    expect(() =>
      decodeEvents({
        headers: undefined,
        properties: {},
        body: '{"type":"worker-online"}',
        contentType: 'application/json',
      }),
    ).toThrow(/no hostname/);
    expect(() => decodeEvents(raw({ type: 'task-started', uuid: 'a' }, 'text/plain'))).toThrow(
      /content type/,
    );
  });

  it('keeps the good events of a batch and reports the bad ones', () => {
    const invalid: string[] = [];
    const ignored: string[] = [];
    const events = decodeEvents(
      raw([
        { type: 'task-started', uuid: 'a', hostname: 'w', timestamp: 1 },
        42,
        { type: 'task-started', hostname: 'w', timestamp: 1 },
        { type: 'task-progress', uuid: 'a', hostname: 'w', timestamp: 1 },
        { type: 'task-succeeded', uuid: 'a', hostname: 'w', timestamp: 2, result: '1', runtime: 1 },
      ]),
      { onInvalid: (r) => invalid.push(r), onIgnored: (t) => ignored.push(t) },
    );
    expect(events.map((e) => e.type)).toEqual(['task-started', 'task-succeeded']);
    expect(invalid).toHaveLength(2);
    expect(ignored).toEqual(['task-progress']);
  });
});

describe('utcoffset', () => {
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('is hours west of UTC, floored, like Python time.timezone // 3600', () => {
    const winter = new Date('2024-01-15T12:00:00Z');
    process.env.TZ = 'America/New_York';
    expect(utcoffset(winter)).toBe(5);
    process.env.TZ = 'Europe/Berlin';
    expect(utcoffset(winter)).toBe(-1);
    process.env.TZ = 'Asia/Kolkata';
    expect(utcoffset(winter)).toBe(-6);
    process.env.TZ = 'UTC';
    expect(utcoffset(winter)).toBe(0);
    expect(eventCommon('w', 1).utcoffset).toBe(0);
  });
});
