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
  /** Its host's CPUs and memory (bytes) as a Lovage worker reports them in `stats`; null otherwise. */
  host: HostResources | null;
  /** The task names it runs (`inspect registered`); null when it did not answer. */
  tasks: string[] | null;
  /** The limits it applies per task now (Lovage `stats`; Celery's rate limits from `registered`). */
  taskLimits: Record<string, LiveTaskLimits>;
}

export interface HostResources {
  cpus: number;
  memoryTotal: number;
  /** Memory the kernel counts as available. */
  memoryFree: number;
  /** The worker's own resident memory. */
  rss: number | null;
  /** The largest resident memory among its prefork children; null when none was measured. */
  childRss: number | null;
}

export interface LiveTaskLimits {
  rateLimit?: string | null;
  timeLimit?: number | null;
  softTimeLimit?: number | null;
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
 * The tasks answering workers hold and have not acknowledged, per queue: from the replies to `inspect
 * active`, `reserved` and `scheduled` (Celery's too), those not `acknowledged` (a task runs acknowledged
 * unless it acks late), each once by id, its queue from `delivery_info.routing_key` (the queue's name under
 * the default routing Lovage and Celery use). A lower bound of the broker's unacknowledged count: workers
 * that did not answer, and deliveries a consumer received but did not hand on yet, are not in it.
 */
export function heldPerQueue(replies: Record<string, unknown>[]): Map<string, number> {
  const ids = new Map<string, Set<string>>();
  for (const reply of replies) {
    for (const tasks of Object.values(reply)) {
      for (const t of Array.isArray(tasks) ? tasks : []) {
        // `scheduled` wraps each request with its eta and priority.
        const request = 'request' in dict(t) ? dict(dict(t).request) : dict(t);
        const queue = str(dict(request.delivery_info).routing_key);
        const id = str(request.id);
        if (queue === null || id === null || request.acknowledged === true) continue;
        ids.set(queue, (ids.get(queue) ?? new Set()).add(id));
      }
    }
  }
  return new Map([...ids].map(([queue, set]) => [queue, set.size]));
}

function hostOf(raw: unknown): HostResources | null {
  const h = dict(raw);
  const [cpus, memoryTotal, memoryFree] = [num(h.cpus), num(h.memoryTotal), num(h.memoryFree)];
  if (cpus === null || memoryTotal === null || memoryFree === null) return null;
  const children = (Array.isArray(h.children) ? h.children : [])
    .map((c) => num(dict(c).rss))
    .filter((r): r is number => r !== null);
  return {
    cpus,
    memoryTotal,
    memoryFree,
    rss: num(h.rss),
    childRss: children.length ? Math.max(...children) : null,
  };
}

/** `registered` entries look like `tasks.add` or `tasks.add [rate_limit=10/s]` (Celery and Lovage). */
function registeredOf(reply: unknown): { tasks: string[]; rates: Record<string, LiveTaskLimits> } | null {
  if (!Array.isArray(reply)) return null;
  const rates: Record<string, LiveTaskLimits> = {};
  const tasks = reply
    .filter((e): e is string => typeof e === 'string')
    .map((e) => {
      const [name = e, info = ''] = e.split(/\s+(?=\[)/);
      const rate = /rate_limit=([^\s\]]+)/.exec(info)?.[1];
      if (rate && rate !== 'None') rates[name] = { rateLimit: rate };
      return name;
    });
  return { tasks: [...new Set(tasks)].sort(), rates };
}

function liveLimitsOf(raw: unknown): Record<string, LiveTaskLimits> {
  const out: Record<string, LiveTaskLimits> = {};
  for (const [name, l] of Object.entries(dict(raw))) {
    const d = dict(l);
    const entry: LiveTaskLimits = {};
    if (str(d.rateLimit) !== null) entry.rateLimit = str(d.rateLimit);
    if (num(d.timeLimit) !== null) entry.timeLimit = num(d.timeLimit);
    if (num(d.softTimeLimit) !== null) entry.softTimeLimit = num(d.softTimeLimit);
    if (Object.keys(entry).length) out[name] = entry;
  }
  return out;
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
  registeredReply?: unknown,
): WorkerView {
  const stats = dict(maskSecrets(statsReply));
  const pool = dict(stats.pool);
  const lovage = { ...dict(record?.extra.lovage), ...dict(stats.lovage) };
  const processes = pool.processes;
  const registered = registeredOf(registeredReply);
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
    host: hostOf(dict(stats.lovage).host),
    tasks: registered?.tasks ?? null,
    taskLimits: { ...registered?.rates, ...liveLimitsOf(dict(stats.lovage).taskLimits) },
  };
}
