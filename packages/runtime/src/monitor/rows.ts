/**
 * Events turned into the compact rows apply.lua folds: field names as stored in the task hash, every value a
 * string already cut to size, timestamps in epoch milliseconds. Doing this here keeps the Lua to the fold.
 */
import { ARGS_JSON_MAXSIZE, TRACEBACK_MAXSIZE } from '../events/codec';
import { isTaskEventType, TASK_EVENT_STATE, type CeleryEvent } from '../events/types';
import { pyRepr } from '../protocol/repr';

/** Longest args/kwargs/result/exception repr kept (characters). */
export const MAX_REPR = 4096;
/** Longest traceback kept: its end, where the exception is. */
export const MAX_TRACEBACK = TRACEBACK_MAXSIZE;
/** Largest arguments JSON kept for retries; larger ones are dropped whole (a cut JSON is useless). */
export const MAX_ARGS_JSON = ARGS_JSON_MAXSIZE;
/** Longest JSON of a worker's non-Celery fields kept. */
export const MAX_WORKER_EXTRA = 16384;

export interface TaskRow {
  i: string;
  s: string;
  f?: string;
  t: number;
  d: Record<string, string>;
}

export interface WorkerRow {
  h: string;
  t: number;
  o: boolean;
  r: string;
}

/** What the `workers` hash holds per hostname. */
export interface StoredWorker {
  freq: number;
  active: number;
  processed: number;
  loadavg: number[];
  swIdent: string | null;
  swVer: string | null;
  pid: number | null;
  /** Epoch ms of the event. */
  at: number;
  offline: boolean;
  extra: Record<string, unknown>;
}

/** The fields Celery defines on worker events; anything else goes to `extra`. */
const CELERY_WORKER_FIELDS = new Set([
  'hostname',
  'utcoffset',
  'pid',
  'clock',
  'freq',
  'active',
  'processed',
  'loadavg',
  'sw_ident',
  'sw_ver',
  'sw_sys',
  'timestamp',
  'type',
  'local_received',
]);

function head(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

function tail(s: string, max: number): string {
  return s.length > max ? `...${s.slice(s.length - max + 3)}` : s;
}

/** A repr field: Celery sends strings; anything else (a JS worker's raw value) is repr'd here. */
function repr(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return head(typeof v === 'string' ? v : pyRepr(v), MAX_REPR);
}

/**
 * Celery 5.2.6 running the solo pool reports failures as `ExceptionWithTraceback()` (billiard's wrapper)
 * instead of the exception; the traceback's last line (`ValueError: boom`) says what it was.
 */
function exceptionRepr(exception: unknown, traceback: unknown): string | undefined {
  const r = repr(exception);
  if (r === undefined || !/^ExceptionWithTraceback\(.*\)$/s.test(r) || typeof traceback !== 'string')
    return r;
  const last = traceback.trimEnd().split('\n').pop() ?? '';
  const m = /^([A-Za-z_][\w.]*)(?::\s?(.*))?$/s.exec(last);
  if (!m) return r;
  const type = m[1]!.split('.').pop()!;
  return head(m[2] ? `${type}(${pyRepr(m[2])})` : `${type}()`, MAX_REPR);
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function toRows(events: readonly CeleryEvent[]): { tasks: TaskRow[]; workers: WorkerRow[] } {
  const tasks: TaskRow[] = [];
  const workers: WorkerRow[] = [];
  for (const e of events) {
    const t = Math.round((finite(e.timestamp) ? e.timestamp : Date.now() / 1000) * 1000);
    if (isTaskEventType(e.type)) {
      const id = e.uuid;
      if (!nonEmpty(id)) continue;
      const d: Record<string, string> = {};
      const set = (field: string, v: string | undefined) => {
        if (v !== undefined) d[field] = v;
      };
      if (e.type !== 'task-sent' && nonEmpty(e.hostname)) d.worker = e.hostname;
      if (nonEmpty(e.name)) d.name = head(e.name, 512);
      set('args', repr(e.args));
      set('kwargs', repr(e.kwargs));
      set('result', repr(e.result));
      set('exception', exceptionRepr(e.exception, e.traceback));
      if (e.traceback !== undefined && e.traceback !== null)
        d.traceback = tail(String(e.traceback), MAX_TRACEBACK);
      if (nonEmpty(e.queue)) d.queue = head(e.queue, 512);
      // Lovage's task-rejected says why, and which dead letter the message became.
      if (nonEmpty(e.reason)) d.reason = head(e.reason, MAX_REPR);
      if (nonEmpty(e.dead_letter_queue)) d.dead_letter_queue = head(e.dead_letter_queue, 512);
      if (nonEmpty(e.dead_letter_id)) d.dead_letter_id = head(e.dead_letter_id, 128);
      if (nonEmpty(e.args_json) && e.args_json.length <= MAX_ARGS_JSON) d.args_json = e.args_json;
      if (nonEmpty(e.kwargs_json) && e.kwargs_json.length <= MAX_ARGS_JSON) d.kwargs_json = e.kwargs_json;
      if (finite(e.retries)) d.retries = String(Math.trunc(e.retries));
      // A retry message names its own id as parent (Celery 5.2.6); that is not a parent.
      if (nonEmpty(e.parent_id) && e.parent_id !== id) d.parent_id = e.parent_id;
      if (nonEmpty(e.root_id)) d.root_id = e.root_id;
      // Not in Celery's events: Lovage's task-sent and task-received add the group the task is a member of
      // (the message's `group` header), so the console can act on a group as a whole.
      if (nonEmpty(e.group)) d.group = head(e.group, 512);
      if (nonEmpty(e.eta)) d.eta = e.eta;
      if (nonEmpty(e.expires)) d.expires = e.expires;
      if (finite(e.runtime)) d.runtime = String(e.runtime);
      tasks.push({ i: id, s: TASK_EVENT_STATE[e.type], f: `ts_${e.type.slice(5)}`, t, d });
    } else {
      if (!nonEmpty(e.hostname)) continue;
      let extra: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(e)) if (!CELERY_WORKER_FIELDS.has(k)) extra[k] = v;
      if (JSON.stringify(extra).length > MAX_WORKER_EXTRA) extra = { truncated: true };
      const record: StoredWorker = {
        freq: finite(e.freq) && e.freq > 0 ? e.freq : 2,
        active: finite(e.active) ? e.active : 0,
        processed: finite(e.processed) ? e.processed : 0,
        loadavg: Array.isArray(e.loadavg) ? e.loadavg.filter(finite) : [],
        swIdent: nonEmpty(e.sw_ident) ? e.sw_ident : null,
        swVer: nonEmpty(e.sw_ver) ? e.sw_ver : null,
        pid: finite(e.pid) && e.pid > 0 ? e.pid : null,
        at: t,
        offline: e.type === 'worker-offline',
        extra,
      };
      workers.push({ h: e.hostname, t, o: record.offline, r: JSON.stringify(record) });
    }
  }
  return { tasks, workers };
}
