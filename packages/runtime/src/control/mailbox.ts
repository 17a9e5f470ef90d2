/**
 * Celery's broadcast mailbox (pidbox) wire shapes, shared/celery-protocol.md §7. This module builds and reads
 * control requests; the worker service answers them.
 */
import { randomUUID } from 'node:crypto';
import type { InboundMessage, OutgoingMessage } from '../protocol/message';

export const PIDBOX_EXCHANGE = 'celery.pidbox';

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
  opts: { destination?: string[] | null; replyTo?: string | null; timeoutSeconds?: number } = {},
): OutgoingMessage {
  const ticket = randomUUID();
  const req: ControlRequest = {
    method,
    arguments: args,
    destination: opts.destination ?? null,
    pattern: null,
    matcher: null,
    ticket,
    reply_to: opts.replyTo ? { exchange: 'reply.celery.pidbox', routing_key: opts.replyTo } : null,
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
