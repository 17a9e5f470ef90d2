/**
 * Event messages on the wire (shared/celery-protocol.md §6): one JSON object per message (`task.sent`,
 * worker events), or a JSON array of task events under routing key `task.multi`. Messages are transient
 * (`delivery_mode` 1) with `headers {hostname}`, as kombu sends them.
 */
import { randomUUID } from 'node:crypto';
import { MalformedMessageError } from '../errors';
import type { InboundMessage, OutgoingMessage } from '../protocol/message';
import { argsRepr, kwargsRepr, saferepr } from '../protocol/repr';
import { toCeleryIso } from '../protocol/time';
import {
  isTaskEventType,
  isWorkerEventType,
  type CeleryEvent,
  type CeleryEventType,
  type EventCommon,
  type EventOf,
  type TaskSentEvent,
} from './types';

/**
 * Celery's `argsrepr_maxsize`, `kwargsrepr_maxsize` and `resultrepr_maxsize` (1024): the longest repr an event
 * carries in `args`, `kwargs`, `result` and `exception`, so a 10 MB result makes a 1 KB event.
 */
export const REPR_MAXSIZE = 1024;
/** The end of a traceback an event carries (where the exception is). */
export const TRACEBACK_MAXSIZE = 16384;
/** Largest `args_json`/`kwargs_json` an event carries; a larger one is left out whole (a cut JSON is useless). */
export const ARGS_JSON_MAXSIZE = 65536;

/** A repr field of an event, cut to REPR_MAXSIZE (a value that is not a string yet is repr'd first). */
function boundRepr(v: unknown): unknown {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string') return saferepr(v);
  return v.length > REPR_MAXSIZE ? `${v.slice(0, REPR_MAXSIZE)}...` : v;
}

/**
 * A task event's fields bounded in size: reprs cut as Celery cuts them, the traceback to its end, and
 * argument JSON too large to keep left out. Applied to every task event a worker sends.
 */
export function boundEventFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out = { ...fields };
  for (const k of ['args', 'kwargs', 'result', 'exception'] as const) {
    if (k in out) out[k] = boundRepr(out[k]);
  }
  const tb = out.traceback;
  if (typeof tb === 'string' && tb.length > TRACEBACK_MAXSIZE) {
    out.traceback = `...${tb.slice(tb.length - TRACEBACK_MAXSIZE + 3)}`;
  }
  for (const k of ['args_json', 'kwargs_json'] as const) {
    const json = out[k];
    if (typeof json === 'string' && json.length > ARGS_JSON_MAXSIZE) delete out[k];
  }
  return out;
}

/** Hours west of UTC, floored, as Celery's `utcoffset()` (DST included): New York 5 (4 in summer). */
export function utcoffset(at: Date = new Date()): number {
  return Math.floor(at.getTimezoneOffset() / 60);
}

/** `task-succeeded` → `task.succeeded`: the routing key an event is published under. */
export function eventRoutingKey(type: string): string {
  return type.replace(/-/g, '.');
}

/** The common fields set by the sender (`timestamp` and `type` come with each event). */
export type SenderFields = Pick<EventCommon, 'hostname' | 'utcoffset' | 'pid' | 'clock'>;

/**
 * `utcoffset()` of now, read again at most once a minute rather than for every event (`getTimezoneOffset`
 * consults the zone's rules each time; a DST change shows within a minute).
 */
let offsetNow = { value: 0, until: 0 };
function currentUtcoffset(): number {
  const now = Date.now();
  if (now >= offsetNow.until) offsetNow = { value: utcoffset(new Date(now)), until: now + 60_000 };
  return offsetNow.value;
}

/** The common fields of an event sent now by this process. */
export function eventCommon(hostname: string, clock: number): SenderFields {
  return { hostname, utcoffset: currentUtcoffset(), pid: process.pid, clock };
}

/** One event, or a `task.multi` batch (an array), as a message. `hostname` defaults to the first sender. */
export function encodeEvents(
  events: CeleryEvent | readonly CeleryEvent[],
  hostname?: string,
): OutgoingMessage {
  const first = Array.isArray(events) ? (events as readonly CeleryEvent[])[0] : (events as CeleryEvent);
  return {
    headers: { hostname: hostname ?? first?.hostname ?? '' },
    properties: { correlation_id: randomUUID(), priority: 0, delivery_mode: 1 },
    body: JSON.stringify(events),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
  };
}

/** One event as a message (routing key: `eventRoutingKey(event.type)`). */
export function encodeEvent(event: CeleryEvent): OutgoingMessage {
  return encodeEvents(event);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks one decoded element and fills common fields a sender left out (a minimal `{hostname, timestamp,
 * type}` heartbeat is valid, as it is for Celery): `timestamp` defaults to the time of receipt, `clock`,
 * `pid` and `utcoffset` to 0, `hostname` to the message's `hostname` header. Returns the reason when it is
 * not an event this module knows.
 */
function checkEvent(
  raw: unknown,
  headerHost: string | undefined,
  receivedAt: number,
): { event: CeleryEvent } | { invalid: string } | { ignored: string } {
  if (!isRecord(raw)) return { invalid: 'event is not a JSON object' };
  const type = raw.type;
  if (typeof type !== 'string' || type === '') return { invalid: 'event has no type' };
  if (!isTaskEventType(type) && !isWorkerEventType(type)) return { ignored: type };
  if (raw.hostname === undefined || raw.hostname === null) raw.hostname = headerHost ?? '';
  if (typeof raw.hostname !== 'string') return { invalid: `${type} event: hostname must be a string` };
  if (isTaskEventType(type)) {
    if (typeof raw.uuid !== 'string' || raw.uuid === '') return { invalid: `${type} event has no uuid` };
  } else if (raw.hostname === '') {
    return { invalid: `${type} event has no hostname` };
  }
  if (raw.timestamp === undefined || raw.timestamp === null) raw.timestamp = receivedAt;
  if (!num(raw.timestamp)) return { invalid: `${type} event: timestamp must be a number` };
  if (!num(raw.clock)) raw.clock = 0;
  if (!num(raw.pid)) raw.pid = 0;
  if (!num(raw.utcoffset)) raw.utcoffset = 0;
  return { event: raw as unknown as CeleryEvent };
}

export interface DecodeProblems {
  /** Called for each element of a batch that is not a valid event (the rest of the batch is kept). */
  onInvalid?: (reason: string) => void;
  /** Called for each event of a type this module does not fold (custom `task-*` events, say). */
  onIgnored?: (type: string) => void;
}

/**
 * Reads an event message: a single event object or a `task.multi` array. Throws MalformedMessageError when
 * the message as a whole cannot be read; bad elements of a batch are reported through `onInvalid` and left
 * out, so one bad event does not lose its neighbours.
 */
export function decodeEvents(message: InboundMessage, problems: DecodeProblems = {}): CeleryEvent[] {
  if (message.contentType !== undefined && message.contentType !== 'application/json') {
    throw new MalformedMessageError(`event content type ${JSON.stringify(message.contentType)} is not JSON`);
  }
  let body: unknown;
  try {
    body = JSON.parse(message.body);
  } catch (err) {
    throw new MalformedMessageError(`event body is not valid JSON: ${(err as Error).message}`);
  }
  const hostHeader = message.headers?.hostname;
  const headerHost = typeof hostHeader === 'string' ? hostHeader : undefined;
  const receivedAt = Date.now() / 1000;
  const items = Array.isArray(body) ? body : [body];
  if (!Array.isArray(body) && !isRecord(body)) {
    throw new MalformedMessageError('event body is neither an object nor an array');
  }
  const out: CeleryEvent[] = [];
  for (const item of items) {
    const checked = checkEvent(item, headerHost, receivedAt);
    if ('event' in checked) {
      out.push(checked.event);
    } else if ('ignored' in checked) {
      problems.onIgnored?.(checked.ignored);
    } else {
      if (!Array.isArray(body)) throw new MalformedMessageError(checked.invalid);
      problems.onInvalid?.(checked.invalid);
    }
  }
  return out;
}

let clientClock = 0;

export interface TaskSentInit {
  id: string;
  name: string;
  args: readonly unknown[];
  kwargs: Record<string, unknown>;
  queue: string;
  /** The sender's node name; Celery uses the client's `gen<pid>@<host>` origin. */
  hostname: string;
  rootId?: string | null;
  parentId?: string | null;
  /** The group the task is a member of; sent as `group`, a field Celery's events lack (only when set). */
  group?: string | null;
  retries?: number;
  eta?: Date | null;
  expires?: Date | null;
  exchange?: string;
  routingKey?: string;
}

/**
 * The `task-sent` event a client publishes after sending a task (Celery: `task_send_sent_event`). Publish
 * it alone: `broker.broadcast(EVENT_EXCHANGE, 'task.sent', encodeEvent(event))`.
 */
export function taskSentEvent(init: TaskSentInit): TaskSentEvent {
  const event: TaskSentEvent = {
    ...eventCommon(init.hostname, ++clientClock),
    uuid: init.id,
    root_id: init.rootId ?? init.id,
    parent_id: init.parentId ?? null,
    name: init.name,
    args: argsRepr(init.args),
    kwargs: kwargsRepr(init.kwargs),
    retries: init.retries ?? 0,
    eta: init.eta ? toCeleryIso(init.eta) : null,
    expires: init.expires ? toCeleryIso(init.expires) : null,
    queue: init.queue,
    exchange: init.exchange ?? '',
    routing_key: init.routingKey ?? init.queue,
    timestamp: Date.now() / 1000,
    type: 'task-sent',
  };
  // Celery's receivers keep a field they do not know as an attribute (events/state.py Task.event) and
  // Flower's shows it; the index files the task under its group.
  if (init.group) event.group = init.group;
  return event;
}

/** Builds an event of `type` sent now, with the common fields first (Celery's field order). */
export function makeEvent<T extends CeleryEventType>(
  type: T,
  common: SenderFields,
  fields: Record<string, unknown>,
): EventOf<T> {
  // Object.assign, not `{ ...common, ...fields }`: V8 (Node 20) takes a slow path for a second spread into an
  // object literal, 8-17 µs for an event's dozen fields against 0.2-0.3 µs (docs/PERFORMANCE.md).
  const event: Record<string, unknown> = Object.assign({}, common, fields);
  if (typeof event.timestamp !== 'number') event.timestamp = Date.now() / 1000;
  event.type = type;
  return event as EventOf<T>;
}
