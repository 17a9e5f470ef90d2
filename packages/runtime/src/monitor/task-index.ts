/**
 * The task-state index the console reads: Celery events folded into Redis by one Lua call per batch
 * (scripts/apply.lua), bounded by count and age.
 *
 * Layout, under `<prefix>lovage:index:`:
 *   task:<id>               hash  the task's fields (TaskRecord, snake_case, timestamps in epoch ms)
 *   by-time                 zset  every task id, scored by `updated` (epoch ms of its latest event)
 *   by-state:<STATE>        zset  task ids in that state, same score
 *   by-name:<name>, by-worker:<hostname>, by-queue:<queue>, by-parent:<parent id>, by-root:<root id>,
 *   by-group:<group id>     zset  same score (by-root: a workflow's tasks but its root; by-group: a group's
 *                                 members)
 *   by-state-name:<STATE>\x1f<name>, by-state-queue:<STATE>\x1f<queue>, by-state-worker:<STATE>\x1f<host>
 *                           zset  same score: the pairs a list filters on together, each one range read
 *   pairs, pairs-cursor     string  'complete' once every task is in the pair indexes; the ZSCAN cursor of
 *                                 filing an index built before them (trim() files it, step by step)
 *   states, names, queues   set   values that currently have an index
 *   workers                 hash  hostname -> worker record JSON (latest worker event)
 *   worker-ts               hash  hostname -> epoch ms of that event
 *   changes                 channel  JSON {ids, workers} published after each apply that changed anything
 *   purges:<queue>          zset  QueuePurge JSON scored by `at`: who emptied the queue when (recordPurge)
 *
 * Counts per state are the cardinalities of the by-state sets, so they cannot drift or double count.
 */
import type { Redis } from 'ioredis';
import type { CeleryEvent } from '../events/types';
import { StateError } from '../errors';
import {
  closeRedis,
  createRedis,
  redisBoundary,
  type RedisBoundary,
  type RedisRetryOptions,
} from '../redis/connection';
import { loadLua } from '../redis/scripts';
import { precedence, States } from '../task/states';
import { toRows, type StoredWorker } from './rows';

const dir = new URL('./scripts/', import.meta.url);
const SCRIPTS = {
  apply: loadLua(dir, 'apply'),
  trim: loadLua(dir, 'trim'),
  list: loadLua(dir, 'list'),
  walk: loadLua(dir, 'walk'),
  pairs: loadLua(dir, 'pairs'),
};

/** Events per apply.lua call: bounds how long one call holds Redis (about 10 ms). */
const EVENTS_PER_CALL = 1000;
/** Tasks removed per trim.lua call. */
const TRIM_PER_CALL = 2000;
/** Tasks one pairs.lua step files in the pair indexes. */
const PAIRS_STEP = 1000;
/** Most ids in one list page. */
const MAX_PAGE = 1000;
/** Most tasks one workflow() or groupMembers() call returns. */
const MAX_MEMBERS = 10_000;
/** Most buckets one histogram returns (a day of minutes is 1440). */
const MAX_BUCKETS = 1440;

const RANKS = JSON.stringify(Object.fromEntries(Object.values(States).map((s) => [s, precedence(s)])));
const UNKNOWN_RANK = precedence('\u0000unknown');

export const TASK_TIMESTAMP_KINDS = [
  'sent',
  'received',
  'started',
  'succeeded',
  'failed',
  'retried',
  'revoked',
  'rejected',
] as const;
export type TaskTimestampKind = (typeof TASK_TIMESTAMP_KINDS)[number];

export interface TaskFilter {
  state?: string;
  name?: string;
  /** Hostname of the worker that last handled the task. */
  worker?: string;
  queue?: string;
  /** Epoch ms: tasks last updated at or after this. */
  from?: number;
  /** Epoch ms: tasks last updated at or before this. */
  to?: number;
  /** An exact task id. */
  id?: string;
}

export interface TaskRecord {
  id: string;
  name: string | null;
  state: string;
  /** Python repr of the positional arguments, cut to 4 KB. */
  args: string | null;
  kwargs: string | null;
  /** Python repr of the return value, cut to 4 KB. */
  result: string | null;
  exception: string | null;
  /** The end of the traceback, at most 16 KB. */
  traceback: string | null;
  /** Hostname of the worker that last reported on the task (never the client that sent it). */
  worker: string | null;
  queue: string | null;
  retries: number;
  parentId: string | null;
  rootId: string | null;
  /**
   * The group the task is a member of (the message's `group` header). Only Lovage's task-sent and
   * task-received carry it: a Celery client and worker leave it null.
   */
  group: string | null;
  eta: string | null;
  expires: string | null;
  /** Seconds, from task-succeeded. */
  runtime: number | null;
  /**
   * The arguments as JSON, when the worker sent them (Lovage workers add `args_json`/`kwargs_json` to
   * task-received; Celery's events carry only reprs). What the console's Retry re-sends.
   */
  argsJson: string | null;
  kwargsJson: string | null;
  /** Why a worker rejected the task (Lovage's task-rejected). */
  rejectReason: string | null;
  /** The dead letter a worker made of the task's message (Lovage's task-rejected). */
  deadLetter: { queue: string; id: string } | null;
  /** Epoch ms of the latest event of each kind. */
  timestamps: Partial<Record<TaskTimestampKind, number>>;
  /** Epoch ms of the latest event about the task. */
  updatedAt: number;
}

export interface WorkerRecord {
  hostname: string;
  /** Heard from within 2 x freq and not gone offline (Celery's rule). */
  alive: boolean;
  /** Epoch ms of the worker's latest event (online, heartbeat, or offline when `alive` is false for that). */
  lastHeartbeat: number | null;
  freq: number;
  active: number;
  processed: number;
  loadavg: number[];
  swIdent: string | null;
  swVer: string | null;
  pid: number | null;
  /** Fields Celery does not define, such as Lovage's `lovage` object. */
  extra: Record<string, unknown>;
}

export interface TaskIndexOptions extends RedisRetryOptions {
  /** Key prefix (use the broker's globalKeyprefix); keys live under `<prefix>lovage:index:`. Default ''. */
  prefix?: string;
  /** Most tasks kept; the least recently updated go first (1,000,000). */
  maxTasks?: number;
  /** Seconds a task is kept after its latest event; also how long a silent worker is listed (7 days). */
  maxAgeSeconds?: number;
  /** Entries one step of a several-index list reads (2,000: about a millisecond of Redis). */
  walkStep?: number;
  /** Entries such a list reads past its page to count the rest before it gives a lower bound (20,000). */
  countBudget?: number;
}

export interface TaskChange {
  ids: string[];
  workers: string[];
}

type Scripted = Redis & {
  lovageIndexApply(
    byTime: string,
    workers: string,
    workerTs: string,
    base: string,
    ranks: string,
    unknownRank: number,
    batch: string,
  ): Promise<[string[], string[]]>;
  lovageIndexTrim(
    byTime: string,
    workers: string,
    workerTs: string,
    base: string,
    maxTasks: number,
    cutoff: number,
    budget: number,
  ): Promise<number>;
  lovageIndexList(
    key: string,
    min: string,
    max: string,
    offset: number,
    limit: number,
  ): Promise<(string | number)[]>;
  lovageIndexWalk(...args: (string | number)[]): Promise<(string | number)[]>;
  lovageIndexPairs(byTime: string, base: string, ...ids: string[]): Promise<number>;
};

const FIELDS = [
  'id',
  'name',
  'state',
  'args',
  'kwargs',
  'result',
  'exception',
  'traceback',
  'worker',
  'queue',
  'retries',
  'parent_id',
  'root_id',
  'eta',
  'expires',
  'runtime',
  'updated',
  ...TASK_TIMESTAMP_KINDS.map((k) => `ts_${k}`),
  'args_json',
  'kwargs_json',
  'reason',
  'dead_letter_queue',
  'dead_letter_id',
  'group',
] as const;
const field = (name: (typeof FIELDS)[number]) => FIELDS.indexOf(name);

function toRecord(values: (string | null)[]): TaskRecord | null {
  const v = (i: number) => values[i] ?? null;
  const id = v(0);
  const state = v(2);
  if (id === null || state === null) return null;
  const timestamps: Partial<Record<TaskTimestampKind, number>> = {};
  TASK_TIMESTAMP_KINDS.forEach((k, i) => {
    const ts = v(17 + i);
    if (ts !== null) timestamps[k] = Number(ts);
  });
  const runtime = v(15);
  return {
    id,
    name: v(1),
    state,
    args: v(3),
    kwargs: v(4),
    result: v(5),
    exception: v(6),
    traceback: v(7),
    worker: v(8),
    queue: v(9),
    retries: Number(v(10) ?? 0),
    parentId: v(11),
    rootId: v(12),
    group: v(field('group')),
    eta: v(13),
    expires: v(14),
    runtime: runtime === null ? null : Number(runtime),
    argsJson: v(17 + TASK_TIMESTAMP_KINDS.length),
    kwargsJson: v(18 + TASK_TIMESTAMP_KINDS.length),
    rejectReason: v(field('reason')),
    deadLetter: deadLetterOf(v(field('dead_letter_queue')), v(field('dead_letter_id'))),
    timestamps,
    updatedAt: Number(v(16) ?? 0),
  };
}

function deadLetterOf(queue: string | null, id: string | null): TaskRecord['deadLetter'] {
  return queue !== null && id !== null ? { queue, id } : null;
}

/** An operator emptied a queue: its tasks still PENDING that were sent before `at` went with it. */
export interface QueuePurge {
  queue: string;
  /** Epoch ms. */
  at: number;
  /** Who purged it (the console user's e-mail, or a command's name). */
  by: string;
  /** How many messages went. */
  count: number;
}

export class TaskIndex {
  /** `<prefix>lovage:index:`, the start of every key. */
  readonly base: string;
  /** The pub/sub channel apply() announces changes on. */
  readonly channel: string;
  readonly maxTasks: number;
  readonly maxAgeSeconds: number;
  private readonly redis: Scripted;
  private readonly ownsConnection: boolean;
  private subscriber: Redis | null = null;
  private subscribed: Promise<void> | null = null;
  private readonly keys: {
    byTime: string;
    workers: string;
    workerTs: string;
    pairs: string;
    pairsCursor: string;
  };
  private readonly walkStep: number;
  private readonly countBudget: number;
  /** The pair indexes were seen complete (they stay so: apply.lua keeps them). */
  private pairsComplete = false;
  /** Redis' connection errors leave as StateError naming the URL. */
  private readonly boundary: RedisBoundary;

  constructor(redis: string | Redis, opts: TaskIndexOptions = {}) {
    this.base = `${opts.prefix ?? ''}lovage:index:`;
    this.channel = `${this.base}changes`;
    this.maxTasks = opts.maxTasks ?? 1_000_000;
    this.maxAgeSeconds = opts.maxAgeSeconds ?? 7 * 24 * 3600;
    this.walkStep = Math.max(1, Math.trunc(opts.walkStep ?? 2000));
    this.countBudget = Math.max(0, Math.trunc(opts.countBudget ?? 20_000));
    this.ownsConnection = typeof redis === 'string';
    const conn =
      typeof redis === 'string'
        ? createRedis(redis, {
            connectionName: 'lovage:index',
            maxRetriesPerRequest: opts.maxRetriesPerRequest,
          })
        : redis;
    conn.defineCommand('lovageIndexApply', { numberOfKeys: 3, lua: SCRIPTS.apply });
    conn.defineCommand('lovageIndexTrim', { numberOfKeys: 3, lua: SCRIPTS.trim });
    conn.defineCommand('lovageIndexList', { numberOfKeys: 1, lua: SCRIPTS.list });
    conn.defineCommand('lovageIndexWalk', { lua: SCRIPTS.walk });
    conn.defineCommand('lovageIndexPairs', { numberOfKeys: 1, lua: SCRIPTS.pairs });
    this.redis = conn as Scripted;
    this.boundary = redisBoundary(redis, StateError);
    this.keys = {
      byTime: `${this.base}by-time`,
      workers: `${this.base}workers`,
      workerTs: `${this.base}worker-ts`,
      pairs: `${this.base}pairs`,
      pairsCursor: `${this.base}pairs-cursor`,
    };
  }

  private taskKey(id: string): string {
    return `${this.base}task:${id}`;
  }

  /**
   * Folds events into the index (idempotent, order-tolerant; see scripts/apply.lua) and publishes what
   * changed on `channel`. Large batches are applied in slices of 1000 events, each atomic.
   */
  apply(events: readonly CeleryEvent[]): Promise<void> {
    return this.boundary.run(async () => {
      const ids = new Set<string>();
      const workers = new Set<string>();
      for (let i = 0; i < events.length; i += EVENTS_PER_CALL) {
        const rows = toRows(events.slice(i, i + EVENTS_PER_CALL));
        if (rows.tasks.length === 0 && rows.workers.length === 0) continue;
        const [changed, hosts] = await this.redis.lovageIndexApply(
          this.keys.byTime,
          this.keys.workers,
          this.keys.workerTs,
          this.base,
          RANKS,
          UNKNOWN_RANK,
          JSON.stringify({ t: rows.tasks, w: rows.workers }),
        );
        for (const id of changed) ids.add(id);
        for (const h of hosts) workers.add(h);
      }
      if (ids.size > 0 || workers.size > 0) {
        await this.redis.publish(this.channel, JSON.stringify({ ids: [...ids], workers: [...workers] }));
      }
    });
  }

  /**
   * Tasks matching `filter`, most recently updated first, and how many match in all. A filter that one index
   * answers (none, one field, state with name or with queue) is one range read by rank, whatever the page.
   * Other combinations walk the smallest of their indexes in bounded steps (walk.lua), so Redis is never
   * held for a whole intersection; their count stops after `countBudget` entries past the page and is then
   * a lower bound (`exact: false`).
   */
  list(
    filter: TaskFilter,
    page: { offset: number; limit: number },
  ): Promise<{ total: number; items: TaskRecord[]; exact: boolean }> {
    return this.boundary.run(async () => {
      const offset = Math.max(0, Math.trunc(page.offset));
      const limit = Math.min(MAX_PAGE, Math.max(0, Math.trunc(page.limit)));
      if (filter.id !== undefined) {
        const rec = await this.get(filter.id);
        const hit = rec !== null && matches(rec, filter);
        return { total: hit ? 1 : 0, items: hit && offset === 0 && limit > 0 ? [rec] : [], exact: true };
      }
      const indexes = await this.indexesFor(filter);
      const min = filter.from !== undefined ? String(Math.ceil(filter.from)) : '-inf';
      const max = filter.to !== undefined ? String(Math.floor(filter.to)) : '+inf';
      if (indexes.length === 1) {
        const out = await this.redis.lovageIndexList(indexes[0]!, min, max, offset, limit);
        return { total: Number(out[0]), items: await this.records(out.slice(1).map(String)), exact: true };
      }
      return this.walk(indexes, min, max, offset, limit);
    });
  }

  /**
   * The index zsets a filter reads: with a state and another field, the pair index of the two (name first,
   * then queue, then worker) once the pair indexes are complete; each other field's own index.
   */
  private async indexesFor(filter: TaskFilter): Promise<string[]> {
    const b = this.base;
    const { state } = filter;
    const fields = [
      ['name', 'by-name:', filter.name],
      ['queue', 'by-queue:', filter.queue],
      ['worker', 'by-worker:', filter.worker],
    ] as const;
    const present = fields.filter((f) => f[2] !== undefined);
    const out: string[] = [];
    if (state !== undefined && present.length > 0 && (await this.pairsReady())) {
      const [field, , value] = present.shift()!;
      out.push(`${b}by-state-${field}:${state}\x1f${value}`);
    } else if (state !== undefined) out.push(`${b}by-state:${state}`);
    for (const [, infix, value] of present) out.push(`${b}${infix}${value}`);
    if (out.length === 0) out.push(this.keys.byTime);
    return out;
  }

  /** A several-index list: the smallest index walked newest first, each entry checked in the others. */
  private async walk(
    indexes: string[],
    min: string,
    max: string,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: TaskRecord[]; exact: boolean }> {
    const start = await this.walkStart(indexes, max);
    if (!start) return { total: 0, items: [], exact: true };
    const { keys } = start;
    let { rank } = start;
    const want = offset + limit;
    const ids: string[] = [];
    let matched = 0;
    let counted = 0;
    while (rank >= 0) {
      const needIds = matched < want;
      if (!needIds && counted >= this.countBudget) {
        return { total: matched, items: await this.records(ids), exact: false };
      }
      const out = await this.redis.lovageIndexWalk(
        keys.length,
        ...keys,
        min,
        max,
        rank,
        this.walkStep,
        needIds ? '1' : '0',
      );
      rank = Number(out[0]);
      const found = Number(out[1]);
      if (needIds) {
        for (const id of out.slice(2)) {
          if (matched >= offset && matched < want) ids.push(String(id));
          matched++;
        }
      } else {
        matched += found;
        counted += this.walkStep;
      }
    }
    return { total: matched, items: await this.records(ids), exact: true };
  }

  /** A walk's keys, the smallest (the driver) first, and its first rank: the newest entry in range. */
  private async walkStart(indexes: string[], max: string): Promise<{ keys: string[]; rank: number } | null> {
    const sizes = await Promise.all(indexes.map((k) => this.redis.zcard(k)));
    const order = indexes.map((k, i) => ({ k, n: sizes[i]! })).sort((a, b) => a.n - b.n);
    if (order[0]!.n === 0) return null;
    const keys = order.map((o) => o.k);
    // Start at the newest entry in range, not at the top of the driving index.
    const rank = max === '+inf' ? 0 : await this.redis.zcount(keys[0]!, `(${max}`, '+inf');
    return { keys, rank };
  }

  /**
   * Every task matching `filter`, newest first, in batches of about `batch` (for exports): read step by step
   * as `list` reads a page, so a long export holds Redis no longer than a list does. Tasks updated while it
   * runs may move ahead of the walk (skipped) or behind it (seen twice): a snapshot needs no lock.
   */
  async *scan(filter: TaskFilter, batch = 500): AsyncGenerator<TaskRecord[]> {
    const size = Math.min(MAX_PAGE, Math.max(1, Math.trunc(batch)));
    if (filter.id !== undefined) {
      const { items } = await this.list(filter, { offset: 0, limit: 1 });
      if (items.length > 0) yield items;
      return;
    }
    const indexes = await this.boundary.run(() => this.indexesFor(filter));
    const min = filter.from !== undefined ? String(Math.ceil(filter.from)) : '-inf';
    const max = filter.to !== undefined ? String(Math.floor(filter.to)) : '+inf';
    if (indexes.length === 1) {
      for (let offset = 0; ; offset += size) {
        const out = await this.boundary.run(() =>
          this.redis.lovageIndexList(indexes[0]!, min, max, offset, size),
        );
        const items = await this.boundary.run(() => this.records(out.slice(1).map(String)));
        if (items.length > 0) yield items;
        if (offset + size >= Number(out[0])) return;
      }
    }
    const start = await this.boundary.run(() => this.walkStart(indexes, max));
    if (!start) return;
    let { rank } = start;
    while (rank >= 0) {
      const out = await this.boundary.run(() =>
        this.redis.lovageIndexWalk(start.keys.length, ...start.keys, min, max, rank, this.walkStep, '1'),
      );
      rank = Number(out[0]);
      const items = await this.boundary.run(() => this.records(out.slice(2).map(String)));
      if (items.length > 0) yield items;
    }
  }

  /**
   * Whether the pair indexes hold every task: apply.lua files each task it touches, and an index from before
   * they existed is filed by `trim()` (pairs.lua) step by step, which then marks them complete.
   */
  private async pairsReady(): Promise<boolean> {
    if (this.pairsComplete) return true;
    this.pairsComplete = (await this.redis.get(this.keys.pairs)) === 'complete';
    return this.pairsComplete;
  }

  /** Files the tasks of an index built before the pair indexes existed, `PAIRS_STEP` tasks a call. */
  private async fillPairs(): Promise<void> {
    if (await this.pairsReady()) return;
    let cursor = (await this.redis.get(this.keys.pairsCursor)) ?? '0';
    do {
      const [next, flat] = await this.redis.zscan(this.keys.byTime, cursor, 'COUNT', PAIRS_STEP);
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) await this.redis.lovageIndexPairs(this.keys.byTime, this.base, ...ids);
      cursor = next;
      await this.redis.set(this.keys.pairsCursor, cursor);
    } while (cursor !== '0');
    await this.redis.multi().set(this.keys.pairs, 'complete').del(this.keys.pairsCursor).exec();
    this.pairsComplete = true;
  }

  get(id: string): Promise<TaskRecord | null> {
    return this.boundary.run(async () => {
      return toRecord(await this.redis.hmget(this.taskKey(id), ...FIELDS));
    });
  }

  /** Tasks whose parent is `id` (tasks it sent, retries the console sent for it), newest first. */
  children(id: string): Promise<TaskRecord[]> {
    return this.boundary.run(async () => {
      const ids = await this.redis.zrevrange(`${this.base}by-parent:${id}`, 0, MAX_PAGE - 1);
      return this.records(ids.filter((c) => c !== id));
    });
  }

  /**
   * The tasks of a workflow but its root: those whose root is `rootId` (Celery's root_id, which every task a
   * canvas or a task sent from it carries), least recently updated first, at most `limit` (up to 10,000),
   * and how many there are in all. The root itself is `get(rootId)`.
   */
  workflow(rootId: string, limit: number): Promise<{ total: number; items: TaskRecord[] }> {
    return this.boundary.run(() => this.members(`${this.base}by-root:${rootId}`, limit));
  }

  /** The members of group `group`, as `workflow` lists a workflow's tasks. */
  groupMembers(group: string, limit: number): Promise<{ total: number; items: TaskRecord[] }> {
    return this.boundary.run(() => this.members(`${this.base}by-group:${group}`, limit));
  }

  private async members(key: string, limit: number): Promise<{ total: number; items: TaskRecord[] }> {
    const n = Math.min(MAX_MEMBERS, Math.max(0, Math.trunc(limit)));
    const [total, ids] = await Promise.all([
      this.redis.zcard(key),
      n > 0 ? this.redis.zrange(key, 0, n - 1) : Promise.resolve([]),
    ]);
    return { total, items: await this.records(ids) };
  }

  private async records(ids: string[]): Promise<TaskRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.taskKey(id), ...FIELDS);
    const res = (await pipeline.exec()) ?? [];
    const out: TaskRecord[] = [];
    for (const [err, values] of res) {
      if (err) throw err;
      // Trimmed between the range and the read: skip it.
      const rec = toRecord(values as (string | null)[]);
      if (rec) out.push(rec);
    }
    return out;
  }

  /** Workers heard from within `maxAgeSeconds`, by hostname. */
  workers(): Promise<WorkerRecord[]> {
    return this.boundary.run(async () => {
      const all = await this.redis.hgetall(this.keys.workers);
      const now = Date.now();
      const out: WorkerRecord[] = [];
      for (const [hostname, json] of Object.entries(all)) {
        let w: StoredWorker;
        try {
          w = JSON.parse(json) as StoredWorker;
        } catch {
          continue;
        }
        out.push({
          hostname,
          alive: !w.offline && now < w.at + w.freq * 2000,
          lastHeartbeat: w.at,
          freq: w.freq,
          active: w.active,
          processed: w.processed,
          loadavg: w.loadavg,
          swIdent: w.swIdent,
          swVer: w.swVer,
          pid: w.pid,
          extra: w.extra,
        });
      }
      return out.sort((a, b) => a.hostname.localeCompare(b.hostname));
    });
  }

  /**
   * Records a purge of `queue`, kept as long as tasks are (`maxAgeSeconds`). The index learns no ids:
   * the purge is the fate of the queue's tasks still PENDING that were sent before it (purgeOf).
   */
  recordPurge(purge: QueuePurge): Promise<void> {
    return this.boundary.run(async () => {
      const key = `${this.base}purges:${purge.queue}`;
      await this.redis
        .multi()
        .zadd(key, purge.at, JSON.stringify(purge))
        .zremrangebyscore(key, '-inf', `(${purge.at - this.maxAgeSeconds * 1000}`)
        .pexpire(key, this.maxAgeSeconds * 1000)
        .exec();
    });
  }

  /** The first purge of the task's queue after it was sent (strictly), when it is still PENDING; else null. */
  purgeOf(task: TaskRecord): Promise<QueuePurge | null> {
    return this.boundary.run(async () => {
      if (task.state !== States.PENDING || task.queue === null) return null;
      const sent = task.timestamps.sent ?? task.updatedAt;
      const [first] = await this.redis.zrangebyscore(
        `${this.base}purges:${task.queue}`,
        `(${sent}`,
        '+inf',
        'LIMIT',
        0,
        1,
      );
      if (first === undefined) return null;
      const { queue, at, by, count } = JSON.parse(first) as QueuePurge;
      return { queue, at, by, count };
    });
  }

  taskNames(): Promise<string[]> {
    return this.boundary.run(async () => {
      return (await this.redis.smembers(`${this.base}names`)).sort();
    });
  }

  queues(): Promise<string[]> {
    return this.boundary.run(async () => {
      return (await this.redis.smembers(`${this.base}queues`)).sort();
    });
  }

  /**
   * Tasks per state over time: for each bucket of `bucketMs` from `from` (epoch ms) up to `to`, how many
   * tasks now in each of `states` had their latest event in it (for SUCCESS and FAILURE: when they
   * finished), optionally only those of a task name, worker and queue. Flower's monitor graphs, from the
   * index rather than a process's memory.
   */
  histogram(
    states: readonly string[],
    range: { from: number; to: number; bucketMs: number },
    filter: Pick<TaskFilter, 'name' | 'worker' | 'queue'> = {},
  ): Promise<{ at: number; counts: Record<string, number> }[]> {
    return this.boundary.run(async () => {
      const { from, to, bucketMs } = range;
      if (!(bucketMs > 0) || !(to > from)) return [];
      const n = Math.min(MAX_BUCKETS, Math.ceil((to - from) / bucketMs));
      const narrow: string[] = [];
      if (filter.name !== undefined) narrow.push(`${this.base}by-name:${filter.name}`);
      if (filter.worker !== undefined) narrow.push(`${this.base}by-worker:${filter.worker}`);
      if (filter.queue !== undefined) narrow.push(`${this.base}by-queue:${filter.queue}`);
      // Filtered: each state's set intersected with the filters' into the scratch key (scores kept, not summed), inside one MULTI so
      // no other reader of the scratch key interleaves (list.lua uses it atomically too).
      const scratch = `${this.base}scratch`;
      const batch = narrow.length > 0 ? this.redis.multi() : this.redis.pipeline();
      for (const s of states) {
        const src = narrow.length > 0 ? scratch : `${this.base}by-state:${s}`;
        if (narrow.length > 0)
          batch.zinterstore(
            scratch,
            narrow.length + 1,
            `${this.base}by-state:${s}`,
            ...narrow,
            'AGGREGATE',
            'MAX',
          );
        for (let i = 0; i < n; i++) {
          const lo = from + i * bucketMs;
          batch.zcount(src, lo, `(${lo + bucketMs}`);
        }
        if (narrow.length > 0) batch.del(scratch);
      }
      const res = (await batch.exec()) ?? [];
      const perState = n + (narrow.length > 0 ? 2 : 0);
      const count = (j: number, i: number) => {
        const [err, value] = res[j * perState + (narrow.length > 0 ? 1 : 0) + i] ?? [null, 0];
        if (err) throw err;
        return Number(value);
      };
      return Array.from({ length: n }, (_, i) => ({
        at: from + i * bucketMs,
        counts: Object.fromEntries(states.map((s, j) => [s, count(j, i)])),
      }));
    });
  }

  /**
   * The ids of the tasks in `state`, a page at a time (ZSCAN: Redis is never held long, and ids that stay in
   * the state the whole time all come, some perhaps twice, while the index changes).
   */
  async *idsInState(state: string, count = 500): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.boundary.run(() =>
        this.redis.zscan(`${this.base}by-state:${state}`, cursor, 'COUNT', count),
      );
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  /** Whether the index holds each of `ids`. */
  holds(ids: readonly string[]): Promise<boolean[]> {
    return this.boundary.run(async () => {
      if (ids.length === 0) return [];
      const scores = await this.redis.zmscore(this.keys.byTime, ...ids);
      return scores.map((s) => s !== null);
    });
  }

  /** The states that have tasks now. */
  states(): Promise<string[]> {
    return this.boundary.run(async () => {
      return (await this.redis.smembers(`${this.base}states`)).sort();
    });
  }

  /** Tasks per state, for every state that has any. */
  counts(): Promise<Record<string, number>> {
    return this.boundary.run(async () => {
      const states = await this.states();
      const pipeline = this.redis.pipeline();
      for (const s of states) pipeline.zcard(`${this.base}by-state:${s}`);
      const res = (await pipeline.exec()) ?? [];
      const out: Record<string, number> = {};
      states.forEach((s, i) => {
        const n = Number(res[i]?.[1] ?? 0);
        if (n > 0) out[s] = n;
      });
      return out;
    });
  }

  /** Calls `onChange` with the task ids and hostnames each apply() (by any monitor) changed. */
  async subscribe(onChange: (change: TaskChange) => void): Promise<() => Promise<void>> {
    const sub = (this.subscriber ??= (() => {
      const c = this.redis.duplicate({ connectionName: 'lovage:index-sub', maxRetriesPerRequest: null });
      c.on('error', () => undefined);
      return c;
    })());
    const listener = (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let change: TaskChange;
      try {
        const parsed = JSON.parse(message) as Partial<TaskChange>;
        change = {
          ids: Array.isArray(parsed.ids) ? parsed.ids.map(String) : [],
          workers: Array.isArray(parsed.workers) ? parsed.workers.map(String) : [],
        };
      } catch {
        return;
      }
      onChange(change);
    };
    sub.on('message', listener);
    const subscribed = (this.subscribed ??= sub.subscribe(this.channel).then(() => undefined));
    try {
      await this.boundary.run(() => subscribed);
    } catch (err) {
      this.subscribed = null;
      sub.off('message', listener);
      throw err;
    }
    return async () => {
      sub.off('message', listener);
      if (sub.listenerCount('message') === 0 && this.subscribed) {
        this.subscribed = null;
        await sub.unsubscribe(this.channel).catch(() => undefined);
      }
    };
  }

  /**
   * Removes tasks last updated more than `maxAgeSeconds` ago, then the least recently updated beyond
   * `maxTasks`, from every index; forgets workers silent for `maxAgeSeconds`. Returns the tasks removed.
   */
  trim(): Promise<number> {
    return this.boundary.run(async () => {
      const cutoff = Date.now() - this.maxAgeSeconds * 1000;
      let removed = 0;
      for (;;) {
        const n = await this.redis.lovageIndexTrim(
          this.keys.byTime,
          this.keys.workers,
          this.keys.workerTs,
          this.base,
          this.maxTasks,
          cutoff,
          TRIM_PER_CALL,
        );
        removed += n;
        if (n < TRIM_PER_CALL) break;
      }
      await this.fillPairs();
      return removed;
    });
  }

  /** Resolves when Redis answers within `timeoutMs`; else rejects with a StateError naming the URL. */
  ping(timeoutMs = 5000): Promise<void> {
    return this.boundary.ping(this.redis, timeoutMs);
  }

  async close(): Promise<void> {
    await closeRedis(this.subscriber);
    this.subscriber = null;
    this.subscribed = null;
    if (this.ownsConnection) await closeRedis(this.redis);
  }
}

function matches(rec: TaskRecord, f: TaskFilter): boolean {
  return (
    (f.state === undefined || rec.state === f.state) &&
    (f.name === undefined || rec.name === f.name) &&
    (f.worker === undefined || rec.worker === f.worker) &&
    (f.queue === undefined || rec.queue === f.queue) &&
    (f.from === undefined || rec.updatedAt >= f.from) &&
    (f.to === undefined || rec.updatedAt <= f.to)
  );
}
