/**
 * kombu's Redis envelope (shared/celery-protocol.md §1.5): the JSON string stored in a queue's list, with the
 * task body base64-encoded inside it.
 */
import { randomUUID } from 'node:crypto';
import type { InboundMessage, OutgoingMessage } from '../../protocol/message';

export function encodeEnvelope(msg: OutgoingMessage, exchange: string, routingKey: string): string {
  return JSON.stringify({
    body: Buffer.from(msg.body, 'utf8').toString('base64'),
    'content-encoding': msg.contentEncoding,
    'content-type': msg.contentType,
    headers: msg.headers,
    properties: {
      ...msg.properties,
      delivery_info: { exchange, routing_key: routingKey },
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes an envelope, or returns the reason it cannot be read. */
export function decodeEnvelope(raw: string): { message: InboundMessage } | { error: string } {
  let env: unknown;
  try {
    env = JSON.parse(raw);
  } catch (err) {
    return { error: `envelope is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    return { error: 'envelope is not a JSON object' };
  const e = env as Record<string, unknown>;
  const props = e.properties;
  if (typeof props !== 'object' || props === null || Array.isArray(props)) {
    return { error: 'envelope has no properties object' };
  }
  const p = props as Record<string, unknown>;
  if (typeof p.delivery_tag !== 'string' && typeof p.delivery_tag !== 'number') {
    return { error: 'envelope has no properties.delivery_tag' };
  }
  if (typeof e.body !== 'string') return { error: 'envelope has no string body' };
  let body = e.body;
  if (p.body_encoding === 'base64') {
    const compact = body.replace(/\s+/g, '');
    if (compact.length % 4 !== 0 || !BASE64.test(compact)) return { error: 'body is not valid base64' };
    body = Buffer.from(compact, 'base64').toString('utf8');
  } else if (p.body_encoding !== undefined && p.body_encoding !== null) {
    return { error: `unsupported body_encoding ${JSON.stringify(p.body_encoding)}` };
  }
  const headers = e.headers;
  if (headers !== undefined && headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) {
    return { error: 'envelope headers must be an object' };
  }
  const contentType = e['content-type'];
  return {
    message: {
      headers: (headers ?? undefined) as Record<string, unknown> | undefined,
      properties: p,
      body,
      contentType: typeof contentType === 'string' && contentType !== '' ? contentType : undefined,
    },
  };
}
