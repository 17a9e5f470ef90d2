/**
 * Repairs the task index from the result backend after the monitor lost events (a subscriber connection
 * Redis cut, or events dropped in-process when memory ran short). Pub/sub keeps nothing, so the only other
 * record of how a task ended is its result: `celery-task-meta-<id>`.
 *
 *   1. every task the index holds in a state that is not final (PENDING, RECEIVED, STARTED, RETRY, …) whose
 *      result is final gets that ending folded in, as the event that was lost would have done;
 *   2. with `scan`, results that became final during the loss for tasks the index never saw are added: SCAN
 *      with COUNT over the backend's keys, in the background (Redis is never held for long). Results of
 *      another broker that shares this backend database would be added too: give each its own database.
 *
 * The repair only ever folds events, so it is as idempotent and order-tolerant as the fold itself.
 */
import type { ResultBackend } from '../backend/backend';
import type { ResultMeta } from '../backend/meta';
import type { CeleryEvent } from '../events/types';
import { saferepr } from '../protocol/repr';
import { argsRepr, kwargsRepr } from '../protocol/repr';
import { parseIsoDate } from '../protocol/time';
import { isReady } from '../task/states';
import type { TaskIndex } from './task-index';

/** Keys per MGET / SCAN step. */
const STEP = 500;
/** Results this long before the loss began still count as finished during it (clocks differ a little). */
const SLACK_MS = 5000;

export interface RepairReport {
  /** Tasks in a state that is not final whose result was looked up. */
  checked: number;
  /** Tasks whose final state was folded in from their result. */
  repaired: number;
  /** Tasks the index did not hold, added from results that became final during the loss. */
  added: number;
}

export class IndexRepair {
  /** Reads results through the backend contract (`getMany`, `scanIds`): no client library of its own. */
  constructor(
    private readonly index: TaskIndex,
    private readonly backend: ResultBackend,
  ) {}

  /**
   * Repairs what a loss that began at `since` (epoch ms) may have left wrong or missing. `signal` stops it
   * between steps (the monitor is stopping); what was repaired by then stays.
   */
  async run(since: number, opts: { scan?: boolean; signal?: AbortSignal } = {}): Promise<RepairReport> {
    const report: RepairReport = { checked: 0, repaired: 0, added: 0 };
    for (const state of await this.index.states()) {
      if (isReady(state)) continue;
      for await (const ids of this.index.idsInState(state, STEP)) {
        if (opts.signal?.aborted) return report;
        report.checked += ids.length;
        const events = (await this.metas(ids)).flatMap((m, i) => endingOf(ids[i]!, m) ?? []);
        await this.index.apply(events);
        report.repaired += events.length;
      }
    }
    if (opts.scan ?? true) report.added = await this.addUnseen(since - SLACK_MS, opts.signal);
    return report;
  }

  private async addUnseen(from: number, signal: AbortSignal | undefined): Promise<number> {
    let added = 0;
    let cursor = '0';
    do {
      const step = await this.backend.scanIds(cursor, STEP);
      cursor = step.cursor;
      const ids = [...new Set(step.ids)];
      if (ids.length === 0) continue;
      const metas = await this.metas(ids);
      const recent = ids.flatMap((id, i) => {
        const e = endingOf(id, metas[i] ?? null);
        return e && e.timestamp * 1000 >= from ? [e] : [];
      });
      const held = await this.index.holds(recent.map((e) => e.uuid as string));
      const unseen = recent.filter((_, i) => !held[i]);
      await this.index.apply(unseen);
      added += unseen.length;
    } while (cursor !== '0' && !signal?.aborted);
    return added;
  }

  private metas(ids: readonly string[]): Promise<(Partial<ResultMeta> | null)[]> {
    return this.backend.getMany(ids);
  }
}

/** What Celery's `result_extended` adds to a meta; used when present. */
interface ExtendedMeta {
  name?: unknown;
  args?: unknown;
  kwargs?: unknown;
  worker?: unknown;
  queue?: unknown;
}

/** The event a final result stands for (task-succeeded, -failed or -revoked), or null if it is not final. */
function endingOf(id: string, meta: (Partial<ResultMeta> & ExtendedMeta) | null): CeleryEvent | null {
  if (!meta || typeof meta.status !== 'string' || !isReady(meta.status)) return null;
  let at: number;
  try {
    at = parseIsoDate(meta.date_done, 'date_done')?.getTime() ?? Date.now();
  } catch {
    at = Date.now();
  }
  const event: Record<string, unknown> = {
    uuid: id,
    hostname: typeof meta.worker === 'string' ? meta.worker : '',
    utcoffset: 0,
    pid: 0,
    clock: 0,
    timestamp: at / 1000,
  };
  if (typeof meta.name === 'string') event.name = meta.name;
  if (Array.isArray(meta.args)) event.args = argsRepr(meta.args);
  if (typeof meta.kwargs === 'object' && meta.kwargs !== null) {
    event.kwargs = kwargsRepr(meta.kwargs as Record<string, unknown>);
  }
  if (typeof meta.queue === 'string') event.queue = meta.queue;
  if (meta.status === 'SUCCESS') {
    event.type = 'task-succeeded';
    event.result = saferepr(meta.result);
  } else if (meta.status === 'FAILURE') {
    event.type = 'task-failed';
    event.exception = exceptionRepr(meta.result);
    event.traceback = meta.traceback ?? '';
  } else {
    event.type = 'task-revoked';
    event.terminated = false;
    event.signum = null;
    event.expired = false;
  }
  return event as CeleryEvent;
}

/** `ValueError('boom')` from Celery's exception dict. */
function exceptionRepr(result: unknown): string {
  const exc = result as { exc_type?: unknown; exc_message?: unknown } | null;
  if (!exc || typeof exc.exc_type !== 'string') return saferepr(result);
  const args = Array.isArray(exc.exc_message) ? exc.exc_message : [exc.exc_message];
  return `${exc.exc_type}(${saferepr(args).slice(1, -1)})`;
}
