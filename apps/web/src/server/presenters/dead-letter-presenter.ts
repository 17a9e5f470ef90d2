import 'server-only';
import type { DeadLetter } from '@lovage/runtime';
import { cutAndMask } from './mask';

/**
 * What an operator sees of a dead letter: enough to decide, never a password. The runtime hands over the
 * message decoded (when it could be read) and the raw text; every text is cut to its limit before anything
 * else looks at it.
 */
const RAW_SHOWN = 4000;
const REASON_SHOWN = 1000;
const HEADER_SHOWN = 300;

export interface DeadLetterView {
  id: string;
  queue: string;
  reason: string;
  at: number;
  consumer: string | null;
  /** From the message's headers when they could be read (a malformed message may have none). */
  taskName: string | null;
  taskId: string | null;
  /** The decoded body, when it is JSON (the task's args, kwargs, embed); its start when it is long. */
  body: string | null;
  bodyTruncated: boolean;
  raw: string;
  rawTruncated: boolean;
}

function header(letter: DeadLetter, name: 'task' | 'id'): string | null {
  const v = letter.message?.headers?.[name];
  return typeof v === 'string' ? cutAndMask(v, HEADER_SHOWN).text : null;
}

/**
 * The body the runtime decoded: whole and compact when it is short JSON; otherwise its first characters.
 */
function shownBody(letter: DeadLetter): { text: string; truncated: boolean } | null {
  const body = letter.message?.body;
  if (typeof body !== 'string') return null;
  if (body.length > RAW_SHOWN) return cutAndMask(body, RAW_SHOWN);
  try {
    return cutAndMask(JSON.stringify(JSON.parse(body)), RAW_SHOWN);
  } catch {
    return null;
  }
}

export function presentDeadLetter(d: DeadLetter): DeadLetterView {
  const raw = cutAndMask(d.raw, RAW_SHOWN);
  const body = shownBody(d);
  return {
    id: d.id,
    queue: d.queue,
    reason: cutAndMask(d.reason, REASON_SHOWN).text,
    at: d.at,
    consumer: d.consumer,
    taskName: header(d, 'task'),
    taskId: header(d, 'id'),
    body: body?.text ?? null,
    bodyTruncated: body?.truncated ?? false,
    raw: raw.text,
    rawTruncated: raw.truncated,
  };
}
