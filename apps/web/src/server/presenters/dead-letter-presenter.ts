import 'server-only';
import type { DeadLetter } from '@lovage/runtime';
import { maskSecretsInText } from './mask';

/** What an operator sees of a raw message: enough to decide, never a password. */
const RAW_SHOWN = 4000;

export interface DeadLetterView {
  id: string;
  queue: string;
  reason: string;
  at: number;
  consumer: string | null;
  /** From the envelope's headers when they could be read (a malformed message may have none). */
  taskName: string | null;
  taskId: string | null;
  /** The body decoded from the envelope's base64, when it is JSON (the task's args, kwargs, embed). */
  body: string | null;
  raw: string;
  rawTruncated: boolean;
}

interface Envelope {
  headers?: Record<string, unknown>;
  body?: unknown;
}

function envelopeOf(raw: string): Envelope | null {
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Envelope) : null;
  } catch {
    return null;
  }
}

function header(envelope: Envelope | null, name: 'task' | 'id'): string | null {
  const v = envelope?.headers?.[name];
  return typeof v === 'string' ? v : null;
}

function decodedBody(envelope: Envelope | null): string | null {
  if (typeof envelope?.body !== 'string') return null;
  try {
    const text = Buffer.from(envelope.body, 'base64').toString('utf8');
    return JSON.stringify(JSON.parse(text));
  } catch {
    return null;
  }
}

export function presentDeadLetter(d: DeadLetter): DeadLetterView {
  const raw = maskSecretsInText(d.raw);
  const envelope = envelopeOf(d.raw);
  const body = decodedBody(envelope);
  return {
    id: d.id,
    queue: d.queue,
    reason: maskSecretsInText(d.reason),
    at: d.at,
    consumer: d.consumer,
    taskName: header(envelope, 'task'),
    taskId: header(envelope, 'id'),
    body: body === null ? null : maskSecretsInText(body).slice(0, RAW_SHOWN),
    raw: raw.slice(0, RAW_SHOWN),
    rawTruncated: raw.length > RAW_SHOWN,
  };
}
