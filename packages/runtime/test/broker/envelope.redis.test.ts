import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../src/broker/redis/envelope';
import { encodeTaskMessage } from '../../src';

function envelope(props: Record<string, unknown>, body: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    body,
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { task: 't', id: 'i' },
    properties: props,
    ...extra,
  });
}

function decodeError(raw: string): string {
  const out = decodeEnvelope(raw);
  if (!('error' in out)) throw new Error('expected a decode error');
  return out.error;
}

describe('broker/redis/envelope', () => {
  it('round-trips an encoded message with a base64 body and kombu properties', () => {
    const msg = encodeTaskMessage({ id: 'id-1', name: 't', args: ['é'], kwargs: {}, origin: 'o' });
    const raw = encodeEnvelope(msg, '', 'celery');
    const env = JSON.parse(raw) as Record<string, Record<string, unknown>>;
    expect(env.properties).toMatchObject({
      body_encoding: 'base64',
      delivery_info: { exchange: '', routing_key: 'celery' },
      correlation_id: 'id-1',
    });
    expect(typeof env.properties!.delivery_tag).toBe('string');
    const out = decodeEnvelope(raw);
    if (!('message' in out)) throw new Error(out.error);
    expect(out.message.body).toBe(msg.body);
    expect(out.message.contentType).toBe('application/json');
    expect(out.message.headers?.id).toBe('id-1');
  });

  it('rejects invalid JSON', () => {
    expect(decodeError('{"body": ')).toMatch(/^envelope is not valid JSON/);
    expect(decodeError('[1, 2]')).toBe('envelope is not a JSON object');
  });

  it('rejects an envelope without properties.delivery_tag', () => {
    expect(decodeError(envelope({ body_encoding: 'base64' }, 'W10='))).toBe(
      'envelope has no properties.delivery_tag',
    );
    expect(decodeError(JSON.stringify({ body: 'W10=' }))).toBe('envelope has no properties object');
  });

  it('rejects a body that is not valid base64', () => {
    expect(decodeError(envelope({ body_encoding: 'base64', delivery_tag: 't' }, '@@@not base64'))).toBe(
      'body is not valid base64',
    );
    expect(decodeError(envelope({ body_encoding: 'base64', delivery_tag: 't' }, 'abc'))).toBe(
      'body is not valid base64',
    );
  });

  it('rejects an unknown body_encoding and non-object headers', () => {
    expect(decodeError(envelope({ body_encoding: 'rot13', delivery_tag: 't' }, '[]'))).toMatch(
      /unsupported body_encoding "rot13"/,
    );
    expect(decodeError(envelope({ delivery_tag: 't' }, '[]', { headers: [1] }))).toBe(
      'envelope headers must be an object',
    );
  });

  it('accepts a raw JSON body when there is no body_encoding', () => {
    const body = '[[2], {"y": 3}, {}]';
    const out = decodeEnvelope(envelope({ delivery_tag: 7 }, body));
    if (!('message' in out)) throw new Error(out.error);
    expect(out.message.body).toBe(body);
    expect(out.message.headers).toEqual({ task: 't', id: 'i' });
  });

  it('reports a missing content type as undefined, for the decoder to reject', () => {
    const out = decodeEnvelope(envelope({ delivery_tag: 't' }, '[]', { 'content-type': '' }));
    if (!('message' in out)) throw new Error(out.error);
    expect(out.message.contentType).toBeUndefined();
  });
});
