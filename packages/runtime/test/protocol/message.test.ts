import { describe, expect, it } from 'vitest';
import {
  decodeTaskMessage,
  encodeTaskMessage,
  MalformedMessageError,
  type InboundMessage,
  type OutgoingMessage,
} from '../../src';

function inbound(out: OutgoingMessage): InboundMessage {
  return {
    headers: out.headers,
    properties: { ...out.properties },
    body: out.body,
    contentType: out.contentType,
  };
}

/** A valid v2 message with one part replaced. */
function v2(
  overrides: { headers?: Record<string, unknown>; body?: string; contentType?: string | undefined } = {},
): InboundMessage {
  return {
    headers: { task: 'tests.add', id: 'abc-1', ...overrides.headers },
    properties: { priority: 0 },
    body: overrides.body ?? '[[1, 2], {}, {}]',
    contentType: 'contentType' in overrides ? overrides.contentType : 'application/json',
  };
}

function reason(msg: InboundMessage): string {
  try {
    decodeTaskMessage(msg);
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMessageError);
    expect((err as MalformedMessageError).code).toBe('MESSAGE_MALFORMED');
    return (err as Error).message;
  }
  throw new Error('expected MalformedMessageError, but the message was decoded');
}

describe('protocol/message', () => {
  it('decodes what it encodes', () => {
    const eta = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
    const expires = new Date(Date.UTC(2030, 0, 3));
    const out = encodeTaskMessage({
      id: 'id-1',
      name: 'tests.add',
      args: [2, 'x'],
      kwargs: { y: 3 },
      eta,
      expires,
      retries: 2,
      timeLimit: [10, 5],
      rootId: 'root-1',
      parentId: 'parent-1',
      group: 'g-1',
      groupIndex: 4,
      ignoreResult: true,
      origin: 'gen1@host',
      priority: 6,
      replyTo: 'oid-1',
      headers: { custom_h: 'v' },
    });
    expect(out.contentType).toBe('application/json');
    expect(out.headers.eta).toBe('2030-01-02T03:04:05.678000+00:00');
    expect(out.properties.expiration).toMatch(/^\d+$/);
    const req = decodeTaskMessage(inbound(out));
    expect(req).toMatchObject({
      id: 'id-1',
      name: 'tests.add',
      args: [2, 'x'],
      kwargs: { y: 3 },
      retries: 2,
      timeLimit: [10, 5],
      rootId: 'root-1',
      parentId: 'parent-1',
      group: 'g-1',
      groupIndex: 4,
      ignoreResult: true,
      origin: 'gen1@host',
      argsrepr: "(2, 'x')",
      kwargsrepr: "{'y': 3}",
      priority: 6,
      replyTo: 'oid-1',
      embed: { callbacks: null, errbacks: null, chain: null, chord: null },
    });
    expect(req.eta?.toISOString()).toBe(eta.toISOString());
    expect(req.expires?.toISOString()).toBe(expires.toISOString());
    expect(req.headers.custom_h).toBe('v');
  });

  it('fills defaults for a minimal message', () => {
    const req = decodeTaskMessage(v2());
    expect(req).toMatchObject({
      id: 'abc-1',
      rootId: 'abc-1',
      parentId: null,
      retries: 0,
      eta: null,
      expires: null,
      timeLimit: [null, null],
      ignoreResult: false,
      argsrepr: '(1, 2)',
      kwargsrepr: '{}',
    });
  });

  it('rejects a message without a content type', () => {
    expect(reason(v2({ contentType: undefined }))).toBe('no content type');
  });

  it('rejects text/plain', () => {
    expect(reason(v2({ contentType: 'text/plain' }))).toMatch(/unsupported content type "text\/plain"/);
  });

  it('rejects a body that is not JSON', () => {
    expect(reason(v2({ body: '[[1], {' }))).toMatch(/^body is not valid JSON/);
  });

  it('rejects a body that is not a 3-element array', () => {
    expect(reason(v2({ body: '[[1, 2], {}]' }))).toBe('body must be a 3-element array [args, kwargs, embed]');
    expect(reason(v2({ body: '{"args": []}' }))).toBe('body must be a 3-element array [args, kwargs, embed]');
  });

  it('rejects a message without an id header', () => {
    expect(reason(v2({ headers: { id: undefined } }))).toBe('header id must be a non-empty string');
    expect(reason(v2({ headers: { id: 42 } }))).toBe('header id must be a non-empty string');
  });

  it('rejects args that are not a list and kwargs that are not an object', () => {
    expect(reason(v2({ body: '[{"a": 1}, {}, {}]' }))).toBe('args must be a list');
    expect(reason(v2({ body: '[[], [1], {}]' }))).toBe('kwargs must be an object');
    expect(reason(v2({ body: '[[], null, {}]' }))).toBe('kwargs must be an object');
  });

  it('rejects an eta that is not a date', () => {
    expect(reason(v2({ headers: { eta: 'tomorrow-ish' } }))).toMatch(/eta is not an ISO-8601 date/);
    expect(reason(v2({ headers: { eta: 12345 } }))).toMatch(/eta must be an ISO-8601 string/);
  });

  it('rejects a bad timelimit and bad signatures', () => {
    expect(reason(v2({ headers: { timelimit: [1] } }))).toBe('header timelimit must be [hard, soft]');
    expect(reason(v2({ body: '[[], {}, {"callbacks": [{"args": []}]}]' }))).toBe(
      'embed.callbacks[0].task must be a non-empty string',
    );
  });

  it('treats a naive eta as UTC and keeps Python microsecond offsets', () => {
    const naive = decodeTaskMessage(v2({ headers: { eta: '2030-01-01T00:00:00' } }));
    expect(naive.eta?.getTime()).toBe(Date.UTC(2030, 0, 1));
    const python = decodeTaskMessage(v2({ headers: { eta: '2026-11-24T00:39:11.610811+00:00' } }));
    expect(python.eta?.toISOString()).toBe('2026-11-24T00:39:11.610Z');
    const offset = decodeTaskMessage(v2({ headers: { expires: '2030-01-01T02:00:00+02:00' } }));
    expect(offset.expires?.getTime()).toBe(Date.UTC(2030, 0, 1));
  });

  it('decodes a protocol v1 message (everything in the body)', () => {
    const body = {
      task: 'spec.add',
      id: 'v1-id',
      args: [1, 2],
      kwargs: { z: 1 },
      group: null,
      retries: 1,
      eta: '2030-01-01T00:00:00+00:00',
      expires: null,
      utc: true,
      callbacks: [
        { task: 'spec.add', args: [10], kwargs: {}, options: {}, subtask_type: null, immutable: false },
      ],
      errbacks: null,
      timelimit: [null, null],
      taskset: null,
      chord: null,
    };
    const req = decodeTaskMessage({
      headers: {},
      properties: { priority: 0 },
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
    expect(req).toMatchObject({
      id: 'v1-id',
      name: 'spec.add',
      args: [1, 2],
      kwargs: { z: 1 },
      retries: 1,
      rootId: 'v1-id',
      parentId: null,
    });
    expect(req.eta?.getTime()).toBe(Date.UTC(2030, 0, 1));
    expect(req.embed.callbacks?.[0]?.task).toBe('spec.add');
  });

  it('rejects a v1-looking body without a task name', () => {
    expect(
      reason({
        headers: {},
        properties: {},
        body: '{"id": "x", "args": []}',
        contentType: 'application/json',
      }),
    ).toMatch(/header task is missing/);
  });

  it('clamps the priority to 0..9', () => {
    expect(decodeTaskMessage({ ...v2(), properties: { priority: 42 } }).priority).toBe(9);
    expect(decodeTaskMessage({ ...v2(), properties: { priority: -3 } }).priority).toBe(0);
  });

  it("reads the broker's redelivered flag and delivery count from delivery_info, null when it has none", () => {
    const info = (delivery_info: Record<string, unknown>) =>
      decodeTaskMessage({ ...v2(), properties: { delivery_info } });
    expect(info({ redelivered: true, delivery_count: 3 })).toMatchObject({
      redelivered: true,
      deliveryCount: 3,
    });
    expect(info({ redelivered: false, delivery_count: null })).toMatchObject({
      redelivered: false,
      deliveryCount: null,
    });
    // Redis: kombu's delivery_info has neither.
    expect(info({ exchange: '', routing_key: 'celery' })).toMatchObject({
      redelivered: null,
      deliveryCount: null,
    });
    expect(decodeTaskMessage(v2())).toMatchObject({ redelivered: null, deliveryCount: null });
  });
});
