/**
 * A signature's options both ways: what `.set()` takes (Lovage's names, checked by zod) as Celery stores them in
 * a signature's `options` (`task_id`, `link_error`, ISO `eta`...), and those options back as send options. The
 * client (canvas/) and the worker (worker/canvas.ts) send signatures through the same reading.
 */
import { z } from 'zod';
import { ConfigError, MalformedMessageError } from '../errors';
import { decodeSignature, type Embed, type Signature } from '../protocol/message';
import { parseIsoDate, toCeleryIso } from '../protocol/time';
import { optionIssueMessage } from '../app/suggest';

/**
 * What `.set()` takes, each with the Celery option it is stored as. Unknown names are refused (a misspelt
 * `countdwn` would otherwise be dropped silently, as Celery does).
 */
export const signatureOptionsSchema = z
  .object({
    /** Celery: queue. */
    queue: z.string().min(1),
    /** Seconds from now before the task may run. Celery: countdown. */
    countdown: z.number().nonnegative(),
    /** Earliest time the task may run. Celery: eta (an ISO date in the signature). */
    eta: z.date(),
    /** Seconds from now, or a date, after which the task is revoked instead of run. Celery: expires. */
    expires: z.union([z.number().nonnegative(), z.date()]),
    /** 0-9. Celery: priority. */
    priority: z.number().int().min(0).max(255),
    /** Use this id instead of a new UUID. Celery: task_id. */
    taskId: z.string().min(1),
    /** Celery: time_limit. */
    timeLimit: z.number().positive(),
    /** Celery: soft_time_limit. */
    softTimeLimit: z.number().positive(),
    /** Celery: ignore_result. */
    ignoreResult: z.boolean(),
    /** Extra message headers. Celery: headers. */
    headers: z.record(z.string(), z.unknown()),
  })
  .partial()
  .strict();

export type SignatureOptions = z.input<typeof signatureOptionsSchema>;

/** Lovage's option name -> Celery's, for the stored options and for suggestions when one is misspelt. */
const CELERY_NAMES: Record<keyof SignatureOptions, string> = {
  queue: 'queue',
  countdown: 'countdown',
  eta: 'eta',
  expires: 'expires',
  priority: 'priority',
  taskId: 'task_id',
  timeLimit: 'time_limit',
  softTimeLimit: 'soft_time_limit',
  ignoreResult: 'ignore_result',
  headers: 'headers',
};
const LOVAGE_NAMES = Object.keys(CELERY_NAMES);
const ALIASES = Object.fromEntries(Object.entries(CELERY_NAMES).map(([lovage, celery]) => [celery, lovage]));

/** `.set()`'s options, checked, as Celery's signature options. Throws ConfigError naming a bad one. */
export function celeryOptions(task: string, options: SignatureOptions): Record<string, unknown> {
  const checked = signatureOptionsSchema.safeParse(options);
  if (!checked.success) {
    throw new ConfigError(
      optionIssueMessage(`signature ${task}`, checked.error.issues[0]!, LOVAGE_NAMES, ALIASES),
    );
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(checked.data) as [keyof SignatureOptions, unknown][]) {
    if (v === undefined) continue;
    out[CELERY_NAMES[k]] = v instanceof Date ? toCeleryIso(v) : v;
  }
  return out;
}

/**
 * The send options a signature's Celery options make (the structural subset of the app's `ApplyOptions`;
 * unknown Celery options, such as `reply_to`, are left).
 */
export interface SignatureSendOptions {
  taskId?: string;
  queue?: string;
  priority?: number;
  countdown?: number;
  eta?: Date;
  expires?: number | Date;
  timeLimit?: number;
  softTimeLimit?: number;
  ignoreResult?: boolean;
  headers?: Record<string, unknown>;
  parentId?: string | null;
  rootId?: string | null;
  group: string | null;
  groupIndex: number | null;
  embed: Embed;
}

/** What sending a signature adds to its own options: where it is sent from, and what travels with it. */
export interface SendContext {
  parentId?: string | null;
  rootId?: string | null;
  /** The chain's remaining steps, travelling with the next one. */
  chain?: Signature[] | null;
  /** The group id Celery gives several callbacks (or errbacks) sent together, or a group's members. */
  group?: string | null;
  /** A chord header member's place and its chord's body. */
  groupIndex?: number;
  chord?: Signature;
}

/**
 * A signature's Celery options as send options (Celery: `Signature.apply_async` passing its options to
 * `Task.apply_async`). Throws MalformedMessageError for a malformed one (a worker received it).
 */
export function sendOptions(sig: Signature, from: SendContext): SignatureSendOptions {
  const o = sig.options;
  const chord = o.chord;
  return {
    taskId: str(o.task_id),
    queue: str(o.queue),
    priority: num(o.priority),
    countdown: num(o.countdown),
    eta: date(o.eta, 'eta'),
    expires: typeof o.expires === 'number' ? o.expires : date(o.expires, 'expires'),
    timeLimit: num(o.time_limit),
    softTimeLimit: num(o.soft_time_limit),
    ignoreResult: typeof o.ignore_result === 'boolean' ? o.ignore_result : undefined,
    headers: isRecord(o.headers) ? o.headers : undefined,
    parentId: from.parentId ?? str(o.parent_id),
    rootId: from.rootId ?? str(o.root_id),
    group: from.group ?? str(o.group_id) ?? null,
    groupIndex: from.groupIndex ?? (typeof o.group_index === 'number' ? o.group_index : null),
    embed: {
      callbacks: nullIfEmpty(signatureList(o.link, 'link')),
      errbacks: nullIfEmpty(signatureList(o.link_error, 'link_error')),
      chain: from.chain ?? null,
      chord:
        from.chord ??
        (chord === null || chord === undefined ? null : decodeSignature(chord, 'options.chord')),
    },
  };
}

/** Celery's `link`/`link_error` option: one signature or a list of them. */
export function signatureList(v: unknown, name: string): Signature[] {
  if (v === null || v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((s, i) => decodeSignature(s, `options.${name}[${i}]`));
}

/** Celery sends `callbacks: null` for a task without links, not `[]`. */
function nullIfEmpty(list: Signature[]): Signature[] | null {
  return list.length ? list : null;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function date(v: unknown, name: string): Date | undefined {
  try {
    return parseIsoDate(v, `options.${name}`) ?? undefined;
  } catch (err) {
    throw new MalformedMessageError((err as Error).message);
  }
}
