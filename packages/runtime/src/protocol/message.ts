/**
 * Celery task message protocol v2 (and reading v1), transport-neutral. A broker turns its envelope into an
 * `InboundMessage` (headers, properties, body text, content type); this module turns that into a validated
 * `TaskRequest`, or throws MalformedMessageError with the reason. See shared/celery-protocol.md §1.
 */
import { randomUUID } from 'node:crypto';
import { MalformedMessageError } from '../errors';
import { encodeJson } from './json';
import { argsRepr, kwargsRepr } from './repr';
import { parseIsoDate, toCeleryIso } from './time';

/**
 * A Celery signature: `{task, args, kwargs, options, subtask_type, immutable}` (callbacks, chain steps, a
 * chord's body). Fields Celery adds beyond these (`chord_size`, ...) are kept as received, so a signature
 * passed on travels unchanged.
 */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  /** null for a task; `group`, `chain`, `chord`... for Celery's composite signatures. */
  subtask_type: string | null;
  immutable: boolean;
  chord_size?: number | null;
  [extra: string]: unknown;
}

export interface Embed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  chain: Signature[] | null;
  chord: Signature | null;
}

/** What a broker hands over after taking its transport envelope apart. */
export interface InboundMessage {
  headers: Record<string, unknown> | undefined;
  properties: Record<string, unknown>;
  body: string;
  contentType: string | undefined;
}

/** What a broker is asked to publish. Properties use AMQP names; the Redis broker maps them to kombu's. */
export interface OutgoingMessage {
  headers: Record<string, unknown>;
  properties: {
    correlation_id: string;
    reply_to?: string;
    priority: number;
    delivery_mode: 1 | 2;
    /** Per-message TTL in milliseconds, as a string (AMQP `expiration`). */
    expiration?: string;
  };
  body: string;
  contentType: 'application/json';
  contentEncoding: 'utf-8';
}

/** A decoded task message: everything a worker needs to run it. */
export interface TaskRequest {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: Embed;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  /** [hard, soft] seconds, null when unset. */
  timeLimit: [number | null, number | null];
  rootId: string;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  ignoreResult: boolean;
  origin: string | null;
  argsrepr: string;
  kwargsrepr: string;
  priority: number;
  replyTo: string | null;
  /**
   * The broker delivered this message before and it came back unacknowledged (AMQP's `redelivered` flag,
   * Celery's `request.delivery_info['redelivered']`); null where the broker does not say (Redis).
   */
  redelivered: boolean | null;
  /**
   * Earlier deliveries of this message that ended without an acknowledgement (a quorum queue's
   * `x-delivery-count`: 0 on the first delivery); null where the broker does not count them (classic queues,
   * Redis).
   */
  deliveryCount: number | null;
  /** The headers as received, custom ones included. */
  headers: Record<string, unknown>;
}

export interface TaskMessageInit {
  id: string;
  name: string;
  args: readonly unknown[];
  kwargs: Record<string, unknown>;
  eta?: Date | null;
  expires?: Date | null;
  retries?: number;
  timeLimit?: [number | null, number | null];
  rootId?: string | null;
  parentId?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  ignoreResult?: boolean;
  origin: string;
  priority?: number;
  replyTo?: string;
  embed?: Partial<Embed>;
  shadow?: string | null;
  /** Extra headers, kept at the top level as Celery does. */
  headers?: Record<string, unknown>;
}

const EMPTY_EMBED: Embed = { callbacks: null, errbacks: null, chain: null, chord: null };

/** Builds a protocol v2 message. Arguments that are not JSON throw EncodeError naming the path. */
export function encodeTaskMessage(init: TaskMessageInit): OutgoingMessage {
  const body = `[${encodeJson(init.args, 'args')}, ${encodeJson(init.kwargs, 'kwargs')}, ${encodeJson(
    Object.assign({}, EMPTY_EMBED, init.embed),
    'embed',
  )}]`;
  const headers: Record<string, unknown> = {
    ...init.headers,
    lang: 'js',
    task: init.name,
    id: init.id,
    shadow: init.shadow ?? null,
    eta: init.eta ? toCeleryIso(init.eta) : null,
    expires: init.expires ? toCeleryIso(init.expires) : null,
    group: init.group ?? null,
    group_index: init.groupIndex ?? null,
    retries: init.retries ?? 0,
    timelimit: init.timeLimit ?? [null, null],
    root_id: init.rootId ?? init.id,
    parent_id: init.parentId ?? null,
    argsrepr: argsRepr(init.args),
    kwargsrepr: kwargsRepr(init.kwargs),
    origin: init.origin,
    ignore_result: init.ignoreResult ?? false,
  };
  const properties: OutgoingMessage['properties'] = {
    correlation_id: init.id,
    priority: init.priority ?? 0,
    delivery_mode: 2,
  };
  if (init.replyTo) properties.reply_to = init.replyTo;
  if (init.expires) properties.expiration = String(Math.max(0, init.expires.getTime() - Date.now()));
  return { headers, properties, body, contentType: 'application/json', contentEncoding: 'utf-8' };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(h: Record<string, unknown>, key: string): string | null {
  const v = h[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new MalformedMessageError(`header ${key} must be a string or null`);
  return v;
}

function optInt(h: Record<string, unknown>, key: string): number | null {
  const v = h[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new MalformedMessageError(`header ${key} must be an integer or null`);
  }
  return v;
}

function limitValue(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !(v > 0))
    throw new MalformedMessageError('header timelimit must be [hard, soft]');
  return v;
}

/** One signature of the embed, validated (`where` names it in the error); absent fields take Celery's defaults. */
export function decodeSignature(v: unknown, where: string): Signature {
  if (!isRecord(v)) throw new MalformedMessageError(`${where} must be a signature (an object)`);
  const { task, args = [], kwargs = {}, options = {}, subtask_type = null, immutable = false } = v;
  if (typeof task !== 'string' || task === '')
    throw new MalformedMessageError(`${where}.task must be a non-empty string`);
  if (!Array.isArray(args)) throw new MalformedMessageError(`${where}.args must be a list`);
  if (!isRecord(kwargs)) throw new MalformedMessageError(`${where}.kwargs must be an object`);
  if (!isRecord(options)) throw new MalformedMessageError(`${where}.options must be an object`);
  if (subtask_type !== null && typeof subtask_type !== 'string')
    throw new MalformedMessageError(`${where}.subtask_type must be a string or null`);
  if (typeof immutable !== 'boolean') throw new MalformedMessageError(`${where}.immutable must be a boolean`);
  const size = v.chord_size;
  if (
    size !== undefined &&
    size !== null &&
    !(typeof size === 'number' && Number.isInteger(size) && size >= 0)
  )
    throw new MalformedMessageError(`${where}.chord_size must be a non-negative integer or null`);
  return { ...v, task, args, kwargs, options, subtask_type, immutable };
}

function signatures(v: unknown, field: string): Signature[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) throw new MalformedMessageError(`embed.${field} must be a list of signatures`);
  return v.map((s, i) => decodeSignature(s, `embed.${field}[${i}]`));
}

function date(h: Record<string, unknown>, key: string): Date | null {
  try {
    return parseIsoDate(h[key], key);
  } catch (err) {
    throw new MalformedMessageError((err as Error).message);
  }
}

/**
 * Validates and decodes a task message. Throws MalformedMessageError naming what is wrong: the three
 * shapes that stop a Celery 5.2.6 worker (wrong body arity, no content type) included.
 */
export function decodeTaskMessage(msg: InboundMessage): TaskRequest {
  if (!msg.contentType) throw new MalformedMessageError('no content type');
  if (msg.contentType !== 'application/json') {
    throw new MalformedMessageError(
      `unsupported content type ${JSON.stringify(msg.contentType)} (expected application/json)`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(msg.body);
  } catch (err) {
    throw new MalformedMessageError(`body is not valid JSON: ${(err as Error).message}`);
  }
  const headers = msg.headers ?? {};
  if (!isRecord(headers)) throw new MalformedMessageError('headers must be an object');

  let h: Record<string, unknown>;
  let args: unknown;
  let kwargs: unknown;
  let embedRaw: unknown;
  if ('task' in headers) {
    // Protocol v2: meta in headers, body = [args, kwargs, embed].
    h = headers;
    if (!Array.isArray(body) || body.length !== 3) {
      throw new MalformedMessageError('body must be a 3-element array [args, kwargs, embed]');
    }
    [args, kwargs, embedRaw] = body as [unknown, unknown, unknown];
  } else {
    // Protocol v1: everything in a body dict.
    if (!isRecord(body) || typeof body.task !== 'string') {
      throw new MalformedMessageError('header task is missing (and the body is not a protocol v1 message)');
    }
    h = { ...body, timelimit: body.timelimit ?? [null, null] };
    args = body.args ?? [];
    kwargs = body.kwargs ?? {};
    embedRaw = { callbacks: body.callbacks, errbacks: body.errbacks, chain: null, chord: body.chord };
  }

  if (typeof h.task !== 'string' || h.task === '')
    throw new MalformedMessageError('header task must be a non-empty string');
  if (typeof h.id !== 'string' || h.id === '')
    throw new MalformedMessageError('header id must be a non-empty string');
  if (!Array.isArray(args)) throw new MalformedMessageError('args must be a list');
  if (!isRecord(kwargs)) throw new MalformedMessageError('kwargs must be an object');
  if (embedRaw !== null && embedRaw !== undefined && !isRecord(embedRaw)) {
    throw new MalformedMessageError('embed must be an object');
  }
  const e = (embedRaw ?? {}) as Record<string, unknown>;
  const embed: Embed = {
    callbacks: signatures(e.callbacks, 'callbacks'),
    errbacks: signatures(e.errbacks, 'errbacks'),
    chain: signatures(e.chain, 'chain'),
    chord: e.chord === null || e.chord === undefined ? null : decodeSignature(e.chord, 'embed.chord'),
  };

  const tl = h.timelimit ?? [null, null];
  if (!Array.isArray(tl) || tl.length !== 2)
    throw new MalformedMessageError('header timelimit must be [hard, soft]');
  const retries = optInt(h, 'retries') ?? 0;
  if (retries < 0) throw new MalformedMessageError('header retries must not be negative');
  const priority = msg.properties.priority;
  const info = msg.properties.delivery_info as Record<string, unknown> | undefined;
  const redelivered = info?.redelivered;
  const deliveryCount = info?.delivery_count;

  return {
    id: h.id,
    name: h.task,
    args,
    kwargs,
    embed,
    eta: date(h, 'eta'),
    expires: date(h, 'expires'),
    retries,
    timeLimit: [limitValue(tl[0]), limitValue(tl[1])],
    rootId: optString(h, 'root_id') ?? h.id,
    parentId: optString(h, 'parent_id'),
    group: optString(h, 'group'),
    groupIndex: optInt(h, 'group_index'),
    ignoreResult: h.ignore_result === true,
    origin: optString(h, 'origin'),
    argsrepr: optString(h, 'argsrepr') ?? argsRepr(args),
    kwargsrepr: optString(h, 'kwargsrepr') ?? kwargsRepr(kwargs),
    priority: typeof priority === 'number' ? Math.min(9, Math.max(0, priority)) : 0,
    replyTo: typeof msg.properties.reply_to === 'string' ? msg.properties.reply_to : null,
    redelivered: typeof redelivered === 'boolean' ? redelivered : null,
    deliveryCount: typeof deliveryCount === 'number' ? deliveryCount : null,
    headers: h,
  };
}

/** A received message as one to publish again: the broker adds its own delivery properties. */
export function republishable(message: InboundMessage): OutgoingMessage {
  const p = message.properties;
  const id = message.headers?.id;
  return {
    headers: message.headers ?? {},
    properties: {
      correlation_id:
        typeof p.correlation_id === 'string' ? p.correlation_id : typeof id === 'string' ? id : randomUUID(),
      ...(typeof p.reply_to === 'string' ? { reply_to: p.reply_to } : {}),
      priority: typeof p.priority === 'number' ? p.priority : 0,
      delivery_mode: p.delivery_mode === 1 ? 1 : 2,
      ...(typeof p.expiration === 'string' ? { expiration: p.expiration } : {}),
    },
    body: message.body,
    // A dead letter keeps what it was sent with; the type names the only one Lovage itself sends.
    contentType: (message.contentType ?? 'application/json') as 'application/json',
    contentEncoding: 'utf-8',
  };
}
