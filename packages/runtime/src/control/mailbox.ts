/**
 * Celery's broadcast mailbox (pidbox) wire shapes, shared/celery-protocol.md §7. This module builds and reads
 * control requests; the worker service answers them.
 */
import { randomUUID } from 'node:crypto';
import { REPLY_EXCHANGE } from '../protocol/exchanges';
import type { InboundMessage, OutgoingMessage } from '../protocol/message';

export { PIDBOX_EXCHANGE, REPLY_EXCHANGE } from '../protocol/exchanges';

export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  ticket: string;
  reply_to: { exchange: string; routing_key: string } | null;
}

let clock = 0;

export function encodeControlRequest(
  method: string,
  args: Record<string, unknown>,
  opts: {
    destination?: string[] | null;
    pattern?: string | null;
    matcher?: 'glob' | 'pcre' | null;
    replyTo?: string | null;
    timeoutSeconds?: number;
    ticket?: string;
  } = {},
): OutgoingMessage {
  const ticket = opts.ticket ?? randomUUID();
  const req: ControlRequest = {
    method,
    arguments: args,
    destination: opts.destination ?? null,
    pattern: opts.pattern ?? null,
    matcher: opts.pattern ? (opts.matcher ?? 'glob') : null,
    ticket,
    reply_to: opts.replyTo ? { exchange: REPLY_EXCHANGE.name, routing_key: opts.replyTo } : null,
  };
  return {
    headers: { clock: ++clock, expires: Date.now() / 1000 + (opts.timeoutSeconds ?? 1) },
    properties: { correlation_id: ticket, priority: 0, delivery_mode: 2 },
    body: JSON.stringify(req),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
  };
}

/** Reads a control request, or null when the message is not one. */
export function decodeControlRequest(msg: InboundMessage): ControlRequest | null {
  try {
    const body = JSON.parse(msg.body) as Partial<ControlRequest>;
    if (typeof body !== 'object' || body === null || typeof body.method !== 'string') return null;
    return {
      method: body.method,
      arguments: typeof body.arguments === 'object' && body.arguments !== null ? body.arguments : {},
      destination: Array.isArray(body.destination) ? body.destination.map(String) : null,
      pattern: typeof body.pattern === 'string' ? body.pattern : null,
      matcher: typeof body.matcher === 'string' ? body.matcher : null,
      ticket: typeof body.ticket === 'string' ? body.ticket : '',
      reply_to: body.reply_to ?? null,
    };
  } catch {
    return null;
  }
}

/** Whether a request is addressed to `hostname` (destination list, or glob pattern). */
export function addressedTo(req: ControlRequest, hostname: string): boolean {
  if (req.destination) return req.destination.includes(hostname);
  if (req.pattern) {
    if (req.matcher === 'pcre') return new RegExp(req.pattern).test(hostname);
    const re = new RegExp(
      `^${req.pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    return re.test(hostname);
  }
  return true;
}

/** A worker's reply: `{<hostname>: payload}` with the request's ticket in the headers (§7.1). */
export function encodeControlReply(hostname: string, payload: unknown, ticket: string): OutgoingMessage {
  return {
    headers: { ticket, clock: ++clock },
    properties: { correlation_id: ticket, priority: 0, delivery_mode: 1 },
    body: JSON.stringify({ [hostname]: payload === undefined ? null : payload }),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
  };
}

/** Reads a reply, or null when it is not one or belongs to another request. */
export function decodeControlReply(msg: InboundMessage, ticket: string): Record<string, unknown> | null {
  if (msg.headers?.ticket !== ticket) return null;
  try {
    const body = JSON.parse(msg.body) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
    return body as Record<string, unknown>;
  } catch {
    return null;
  }
}
