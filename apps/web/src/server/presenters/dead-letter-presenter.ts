import 'server-only';
import type { DeadLetter } from '@lovage/runtime';
import { cutAndMask } from './mask';

/**
 * What an operator sees of a raw message: enough to decide, never a password. Every text is cut to its
 * limit before anything else looks at it, so a message of any size costs one parse of its envelope.
 */
const RAW_SHOWN = 4000;
const REASON_SHOWN = 1000;
const HEADER_SHOWN = 300;
/** Base64 characters of the body decoded: enough for RAW_SHOWN characters of its text. */
const BODY_BASE64_SHOWN = Math.ceil((RAW_SHOWN * 4) / 3 / 4) * 4;

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
  bodyTruncated: boolean;
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
  return typeof v === 'string' ? cutAndMask(v, HEADER_SHOWN).text : null;
}

/**
 * The start of the body, decoded: whole and compact when it is short JSON; otherwise its first
 * characters (only those are decoded).
 */
function decodedBody(envelope: Envelope | null): { text: string; truncated: boolean } | null {
  const base64 = envelope?.body;
  if (typeof base64 !== 'string') return null;
  if (base64.length > BODY_BASE64_SHOWN) {
    const start = Buffer.from(base64.slice(0, BODY_BASE64_SHOWN), 'base64').toString('utf8');
    return { text: cutAndMask(start, RAW_SHOWN).text, truncated: true };
  }
  try {
    return cutAndMask(JSON.stringify(JSON.parse(Buffer.from(base64, 'base64').toString('utf8'))), RAW_SHOWN);
  } catch {
    return null;
  }
}

export function presentDeadLetter(d: DeadLetter): DeadLetterView {
  const raw = cutAndMask(d.raw, RAW_SHOWN);
  const envelope = envelopeOf(d.raw);
  const body = decodedBody(envelope);
  return {
    id: d.id,
    queue: d.queue,
    reason: cutAndMask(d.reason, REASON_SHOWN).text,
    at: d.at,
    consumer: d.consumer,
    taskName: header(envelope, 'task'),
    taskId: header(envelope, 'id'),
    body: body?.text ?? null,
    bodyTruncated: body?.truncated ?? false,
    raw: raw.text,
    rawTruncated: raw.truncated,
  };
}
