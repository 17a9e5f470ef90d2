import 'server-only';
import type { WorkerRecord } from '@lovage/runtime';
import { maskSecrets } from './mask';

export interface WorkerView {
  hostname: string;
  alive: boolean;
  lastHeartbeat: number | null;
  active: number;
  processed: number;
  loadavg: number[];
  software: string | null;
  pid: number | null;
  /** Whether it answered the `stats` inspect just now. */
  answered: boolean;
  pool: { kind: string | null; maxConcurrency: number | null; processes: number | null };
  settingsVersion: number | null;
  /** Settings the worker's command line fixed, which stored settings do not override. */
  pinned: string[];
  prefetchMultiplier: number | null;
  /** The queues it consumes (`inspect active_queues`); null when it did not answer. */
  queues: string[] | null;
}

type Dict = Record<string, unknown>;
const dict = (v: unknown): Dict => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The queue names in a worker's `active_queues` reply (Lovage's and Celery's shape), sorted; null if none came. */
export function queueNamesOf(reply: unknown): string[] | null {
  if (!Array.isArray(reply)) return null;
  return reply
    .map((q) => str(dict(q).name))
    .filter((n): n is string => n !== null)
    .sort();
}

/**
 * A worker as the workers page shows it: the index's record (events) merged with its `stats` and
 * `active_queues` replies (remote control), any of which may be missing. Secrets in replies are masked.
 */
export function presentWorker(
  hostname: string,
  record: WorkerRecord | undefined,
  statsReply: unknown,
  queuesReply?: unknown,
): WorkerView {
  const stats = dict(maskSecrets(statsReply));
  const pool = dict(stats.pool);
  const lovage = { ...dict(record?.extra.lovage), ...dict(stats.lovage) };
  const processes = pool.processes;
  return {
    hostname,
    alive: record?.alive ?? statsReply !== undefined,
    lastHeartbeat: record?.lastHeartbeat ?? null,
    active: record?.active ?? 0,
    processed: record?.processed ?? 0,
    loadavg: record?.loadavg ?? [],
    software: record?.swIdent ? `${record.swIdent} ${record.swVer ?? ''}`.trim() : null,
    pid: record?.pid ?? num(stats.pid),
    answered: statsReply !== undefined,
    pool: {
      kind: str(lovage.pool) ?? str(pool.implementation),
      maxConcurrency: num(pool['max-concurrency']) ?? num(lovage.concurrency),
      processes: Array.isArray(processes) ? processes.length : num(processes),
    },
    settingsVersion: num(lovage.settingsVersion),
    pinned: Array.isArray(lovage.pinned) ? lovage.pinned.map(String) : [],
    prefetchMultiplier: num(lovage.prefetchMultiplier),
    queues: queueNamesOf(queuesReply),
  };
}
