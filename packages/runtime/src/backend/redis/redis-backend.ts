/**
 * Celery's Redis result backend: `celery-task-meta-<id>` keys written with SET EX + PUBLISH on a channel of
 * the same name. Waiting clients subscribe first, then read the key, then wait for a publish: no polling,
 * and no window in which a result can be missed. After a reconnect every waited key is read again, since
 * publishes sent while disconnected are lost.
 */
import type { Redis } from 'ioredis';
import { BackendError, ResultTimeoutError } from '../../errors';
import {
  closeRedis,
  createRedis,
  redisBoundary,
  type RedisBoundary,
  type RedisRetryOptions,
} from '../../redis/connection';
import { loadLua } from '../../redis/scripts';
import { isReady } from '../../task/states';
import type { ChordEntry, ChordPart, ResultBackend, StoreOptions } from '../backend';
import { decodeMeta, encodeMeta, type ResultMeta } from '../meta';

const STORE_RESULT = loadLua(new URL('.', import.meta.url), 'store-result');
const CHORD_PART = loadLua(new URL('.', import.meta.url), 'chord-part');

export interface RedisBackendOptions extends RedisRetryOptions {
  /** Seconds a result is kept; null keeps it forever. Celery: result_expires (86400). */
  resultExpires: number | null;
}

interface Waiting {
  resolve: (meta: ResultMeta) => void;
}

interface Subscription {
  waiters: Set<Waiting>;
  /** Resolves once Redis confirmed the SUBSCRIBE; every waiter reads the key only after it. */
  subscribed: Promise<unknown>;
}

type RedisWithStore = Redis & {
  lovageStoreResult(key: string, meta: string, ttl: number): Promise<number>;
  lovageChordPart(
    jKey: string,
    tKey: string,
    sKey: string,
    member: string,
    score: string,
    ttl: number,
  ): Promise<string[]>;
};

export const resultKey = (taskId: string): string => `celery-task-meta-${taskId}`;
/** Celery's group keys: `celery-taskset-meta-<gid>` (a saved GroupResult) and its `.j`, `.t`, `.s` chord keys. */
export const groupKey = (groupId: string, suffix: '' | '.j' | '.t' | '.s' = ''): string =>
  `celery-taskset-meta-${groupId}${suffix}`;

export class RedisResultBackend implements ResultBackend {
  private readonly client: RedisWithStore;
  private subscriber: Redis | null = null;
  private readonly waiting = new Map<string, Subscription>();
  private closed = false;
  /** Redis' connection errors leave as BackendError naming the URL. */
  private readonly boundary: RedisBoundary;

  constructor(
    private readonly url: string,
    private readonly options: RedisBackendOptions,
  ) {
    this.client = createRedis(url, {
      connectionName: 'lovage:backend',
      maxRetriesPerRequest: options.maxRetriesPerRequest,
    }) as RedisWithStore;
    this.boundary = redisBoundary(url, BackendError);
    this.client.defineCommand('lovageStoreResult', { numberOfKeys: 1, lua: STORE_RESULT });
    this.client.defineCommand('lovageChordPart', { numberOfKeys: 3, lua: CHORD_PART });
  }

  async store(taskId: string, status: string, resultJson: string, opts: StoreOptions = {}): Promise<boolean> {
    const { expires, ...metaOpts } = opts;
    const meta = encodeMeta({ taskId, status, resultJson, ...metaOpts });
    const written = await this.boundary.run(() =>
      this.client.lovageStoreResult(
        resultKey(taskId),
        meta,
        (expires !== undefined ? expires : this.options.resultExpires) ?? 0,
      ),
    );
    return written === 1;
  }

  async chordPartReturn(part: ChordPart): Promise<ChordEntry[] | null> {
    // Celery's encoding of a part, `[1, task_id, state, result]`, so both kinds of worker add the same member.
    const member = `[1, ${JSON.stringify(part.taskId)}, ${JSON.stringify(part.status)}, ${part.resultJson}]`;
    const { groupId } = part;
    const members = await this.boundary.run(() =>
      this.client.lovageChordPart(
        groupKey(groupId, '.j'),
        groupKey(groupId, '.t'),
        groupKey(groupId, '.s'),
        member,
        part.groupIndex === null ? '+inf' : String(part.groupIndex),
        this.options.resultExpires ?? 0,
      ),
    );
    if (members.length === 0) return null;
    return members.map((text) => {
      const [, taskId, status, result] = JSON.parse(text) as [number, string, string, unknown];
      return { taskId, status, result };
    });
  }

  chordStart(groupId: string, size: number): Promise<void> {
    return this.setAndPublish(groupKey(groupId, '.s'), String(size));
  }

  /** Celery's backend `set`: SETEX (SET without expiry) and a PUBLISH on the key's channel. */
  private async setAndPublish(key: string, value: string): Promise<void> {
    const ttl = this.options.resultExpires;
    const pipe = this.client.multi();
    if (ttl) pipe.setex(key, ttl, value);
    else pipe.set(key, value);
    pipe.publish(key, value);
    await this.boundary.run(() => pipe.exec());
  }

  async chordDone(groupId: string): Promise<void> {
    await this.boundary.run(() =>
      this.client.del(groupKey(groupId, '.j'), groupKey(groupId, '.t'), groupKey(groupId, '.s')),
    );
  }

  saveGroup(groupId: string, json: string): Promise<void> {
    // Celery's `_save_group` goes through the same `set`.
    return this.setAndPublish(groupKey(groupId), json);
  }

  async getGroup(groupId: string): Promise<unknown> {
    const text = await this.boundary.run(() => this.client.get(groupKey(groupId)));
    if (text === null) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null; // unreadable, as an unreadable meta: treated as absent
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.boundary.run(() => this.client.del(groupKey(groupId)));
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const text = await this.boundary.run(() => this.client.get(resultKey(taskId)));
    return text === null ? null : decodeMeta(text);
  }

  async getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]> {
    if (taskIds.length === 0) return [];
    const texts = await this.boundary.run(() => this.client.mget(taskIds.map(resultKey)));
    return texts.map((text) => (text === null ? null : decodeMeta(text)));
  }

  async scanIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }> {
    const prefix = resultKey('');
    const [next, keys] = await this.boundary.run(() =>
      this.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', count),
    );
    return { cursor: next, ids: keys.map((k) => k.slice(prefix.length)) };
  }

  async forget(taskId: string): Promise<void> {
    await this.boundary.run(() => this.client.del(resultKey(taskId)));
  }

  private getSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = createRedis(this.url, { connectionName: 'lovage:backend-sub', maxRetriesPerRequest: null });
    sub.on('message', (channel: string, message: string) => {
      const meta = decodeMeta(message);
      if (meta && isReady(meta.status)) this.settle(channel.slice('celery-task-meta-'.length), meta);
    });
    let connectedBefore = false;
    sub.on('ready', () => {
      // ioredis re-subscribes by itself; publishes sent while we were away are lost, so read the keys again.
      if (connectedBefore) void this.recheckAll();
      connectedBefore = true;
    });
    sub.on('error', () => {
      // Reconnects are handled by ioredis; a waiting get() times out if Redis stays away.
    });
    this.subscriber = sub;
    return sub;
  }

  private async recheckAll(): Promise<void> {
    const ids = [...this.waiting.keys()];
    if (ids.length === 0 || this.closed) return;
    const values = await this.client.mget(ids.map(resultKey)).catch(() => [] as (string | null)[]);
    values.forEach((text, i) => {
      const meta = text ? decodeMeta(text) : null;
      if (meta && isReady(meta.status)) this.settle(ids[i]!, meta);
    });
  }

  private settle(taskId: string, meta: ResultMeta): void {
    const sub = this.waiting.get(taskId);
    if (!sub) return;
    this.waiting.delete(taskId);
    void this.subscriber?.unsubscribe(resultKey(taskId)).catch(() => undefined);
    for (const w of sub.waiters) w.resolve(meta);
  }

  async waitReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta> {
    const sub = this.getSubscriber();
    let waiter!: Waiting;
    const ready = new Promise<ResultMeta>((resolve) => {
      waiter = { resolve };
    });
    let entry = this.waiting.get(taskId);
    if (!entry) {
      entry = { waiters: new Set(), subscribed: sub.subscribe(resultKey(taskId)) };
      this.waiting.set(taskId, entry);
    }
    entry.waiters.add(waiter);
    let timer: NodeJS.Timeout | undefined;
    const timeout =
      timeoutMs === null
        ? null
        : new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const e = this.waiting.get(taskId);
              e?.waiters.delete(waiter);
              if (e && e.waiters.size === 0) {
                this.waiting.delete(taskId);
                void sub.unsubscribe(resultKey(taskId)).catch(() => undefined);
              }
              reject(new ResultTimeoutError(taskId, timeoutMs / 1000));
            }, timeoutMs);
          });
    try {
      const check = (async () => {
        await this.boundary.run(() => entry.subscribed);
        // Subscribed before reading: a result stored from here on is either in the key or in a publish.
        const current = await this.get(taskId);
        if (current && isReady(current.status)) this.settle(taskId, current);
        return ready;
      })();
      return await (timeout ? Promise.race([check, timeout]) : check);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([closeRedis(this.client), closeRedis(this.subscriber)]);
  }
}
