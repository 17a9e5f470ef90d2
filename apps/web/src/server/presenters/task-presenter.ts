import 'server-only';
import type { QueuePurge, TaskRecord } from '@lovage/runtime';
import { TASK_TIMESTAMP_KINDS } from '../runtime';
import { FINAL_STATES } from '../routers/tasks/task-states';
import { maskSecrets, maskSecretsInText } from './mask';

export interface TaskRow {
  id: string;
  name: string | null;
  state: string;
  worker: string | null;
  queue: string | null;
  retries: number;
  args: string | null;
  kwargs: string | null;
  runtime: number | null;
  updatedAt: number;
  sentAt: number | null;
}

export function presentTaskRow(r: TaskRecord): TaskRow {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    worker: r.worker,
    queue: r.queue,
    retries: r.retries,
    args: maskSecretsInText(r.args),
    kwargs: maskSecretsInText(r.kwargs),
    runtime: r.runtime,
    updatedAt: r.updatedAt,
    sentAt: r.timestamps.sent ?? null,
  };
}

export interface TimelineEntry {
  kind: string;
  at: number;
}

/**
 * Where a task went when no worker ran it: the reason a worker rejected it and the dead letter its message
 * became, or the purge that emptied its queue while it waited.
 */
export type TaskFate =
  | { kind: 'rejected'; reason: string | null; deadLetter: { queue: string; id: string } | null }
  | { kind: 'purged'; queue: string; at: number; by: string };

/** The fate of a REJECTED task, or of a PENDING one whose queue was purged after it was sent. */
export function presentFate(r: TaskRecord, purge: QueuePurge | null): TaskFate | null {
  if (r.state === 'REJECTED') {
    return { kind: 'rejected', reason: maskSecretsInText(r.rejectReason), deadLetter: r.deadLetter };
  }
  return purge && { kind: 'purged', queue: purge.queue, at: purge.at, by: purge.by };
}

export interface TaskDetail extends TaskRow {
  result: string | null;
  exception: string | null;
  traceback: string | null;
  parentId: string | null;
  rootId: string | null;
  eta: string | null;
  expires: string | null;
  timeline: TimelineEntry[];
  final: boolean;
  /** Retry needs the original arguments as JSON; null when they are known. */
  retryBlockedReason: string | null;
  /**
   * The arguments as JSON for the replay form, pretty-printed with secrets masked (a masked value sent back
   * unchanged keeps the original); null when the index has them only as reprs (a Celery worker's events).
   */
  replay: { args: string; kwargs: string } | null;
  parent: TaskRow | null;
  children: TaskRow[];
  fate: TaskFate | null;
}

/**
 * Why the task cannot be retried from here, or null. Retry needs the original arguments as JSON, which
 * Lovage workers put in their task-received event; the reprs alone (all a Celery worker sends) cannot be
 * turned back into values.
 */
export function retryBlockedReason(r: TaskRecord): string | null {
  if (!r.name) return 'cannot retry: the task name is unknown';
  if (typeof r.argsJson !== 'string') return 'cannot retry: original arguments unknown';
  if (!FINAL_STATES.includes(r.state)) return `cannot retry: the task is still ${r.state}; revoke it first`;
  return null;
}

function replayForm(r: TaskRecord): TaskDetail['replay'] {
  if (typeof r.argsJson !== 'string') return null;
  try {
    const args: unknown = JSON.parse(r.argsJson);
    const kwargs: unknown = r.kwargsJson ? JSON.parse(r.kwargsJson) : {};
    const masked = maskSecrets({ args, kwargs });
    return { args: JSON.stringify(masked.args, null, 2), kwargs: JSON.stringify(masked.kwargs, null, 2) };
  } catch {
    return null;
  }
}

/** Clocks of the sending client and of the worker may disagree by this much (ms). */
export const CLOCK_SKEW_MS = 2000;
const LIFECYCLE = ['sent', 'received', 'started'];

/**
 * The timeline in time order, except that sent, received and started stamped by different machines less
 * than CLOCK_SKEW_MS apart follow the state machine: a task is never shown started before it was sent.
 */
function lifecycleOrder(entries: TimelineEntry[]): TimelineEntry[] {
  const out = [...entries];
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0; j--) {
      const [a, b] = [out[j - 1]!, out[j]!];
      const [ra, rb] = [LIFECYCLE.indexOf(a.kind), LIFECYCLE.indexOf(b.kind)];
      if (ra < 0 || rb < 0 || rb > ra || b.at - a.at > CLOCK_SKEW_MS) break;
      [out[j - 1], out[j]] = [b, a];
    }
  }
  return out;
}

export function presentTaskDetail(
  r: TaskRecord,
  parent: TaskRecord | null,
  children: TaskRecord[],
  purge: QueuePurge | null = null,
): TaskDetail {
  const timeline = lifecycleOrder(
    TASK_TIMESTAMP_KINDS.flatMap((kind) => {
      const at = r.timestamps[kind];
      return at === undefined ? [] : [{ kind, at }];
    }).sort((a, b) => a.at - b.at),
  );
  return {
    ...presentTaskRow(r),
    result: maskSecretsInText(r.result),
    exception: maskSecretsInText(r.exception),
    traceback: maskSecretsInText(r.traceback),
    parentId: r.parentId,
    rootId: r.rootId,
    eta: r.eta,
    expires: r.expires,
    timeline,
    final: FINAL_STATES.includes(r.state),
    retryBlockedReason: retryBlockedReason(r),
    replay: replayForm(r),
    parent: parent ? presentTaskRow(parent) : null,
    children: children.map(presentTaskRow),
    fate: presentFate(r, purge),
  };
}
