/**
 * The Redis state store: Lovage's records under the keys the Redis broker has always used for them
 * (`<prefix>lovage:revoked`, `lovage:queues`, `lovage:dead:<queue>`, `lovage:dead-queues`; settings and the
 * task index under `lovage:settings` and `lovage:index:`), so a deployment that kept them with its broker
 * reads them as before. When it shares the broker's Redis and prefix (`sharesBroker`), dead-lettering stays
 * the broker consumer's one Lua script, and requeue puts the raw envelope back byte for byte.
 */
import type { Redis } from 'ioredis';
import { maskUrl, type Broker } from '../../broker/broker';
import { decodeEnvelope } from '../../broker/redis/envelope';
import { RedisKeys } from '../../broker/redis/keys';
import { StateError } from '../../errors';
import { TaskIndex, type TaskIndexOptions } from '../../monitor/task-index';
import {
  closeRedis,
  createRedis,
  redisBoundary,
  redisDb,
  type RedisBoundary,
  type RedisRetryOptions,
} from '../../redis/connection';
import { loadLua } from '../../redis/scripts';
import { SettingsStore } from '../../settings/store';
import { requeueByPublish } from '../dead-letters';
import type {
  BeatStore,
  DeadLetter,
  DeadLetterStore,
  QueuePause,
  QueueRegistry,
  RevokedStore,
  StateStore,
} from '../state';
import { redisBeatStore } from './redis-beat';

const TAKE = loadLua(new URL('./scripts/', import.meta.url), 'dead-letter-take');

export interface RedisStateOptions extends RedisRetryOptions {
  /** Key prefix: the broker's `globalKeyprefix`, so records live beside the queues they describe (''). */
  prefix?: string;
  /**
   * This Redis and prefix are the broker's own (a Redis broker on the same URL): dead-lettering is then
   * atomic and requeue byte for byte (false).
   */
  sharesBroker?: boolean;
}

type Scripted = Redis & {
  lovageDeadLetterTake(
    dead: string,
    bucket: string,
    deadQueues: string,
    id: string,
    mode: 'requeue' | 'delete',
    queue: string,
  ): Promise<string | null>;
};

/** An entry as stored; entries written by the broker's dead-letter.lua have no `message`. */
type StoredDeadLetter = Omit<DeadLetter, 'message'> & { message?: DeadLetter['message'] };

function readEntry(json: string): DeadLetter {
  const e = JSON.parse(json) as StoredDeadLetter;
  let message = e.message ?? null;
  if (!message && e.message === undefined) {
    const decoded = decodeEnvelope(e.raw);
    message = 'message' in decoded ? decoded.message : null;
  }
  return { ...e, message };
}

export class RedisStateStore implements StateStore {
  readonly displayUrl: string;
  readonly sharesBroker: boolean;
  readonly keys: RedisKeys;
  readonly revoked: RevokedStore;
  readonly queues: QueueRegistry;
  readonly deadLetters: DeadLetterStore;
  readonly beat: BeatStore;
  private readonly redis: Scripted;
  private readonly prefix: string;
  private readonly retries: RedisRetryOptions;
  private settingsStore: SettingsStore | null = null;
  /** Redis' connection errors leave every record store (and ping) as StateError naming the URL. */
  private readonly boundary: RedisBoundary;

  constructor(
    readonly url: string,
    options: RedisStateOptions = {},
  ) {
    this.displayUrl = maskUrl(url);
    this.prefix = options.prefix ?? '';
    this.sharesBroker = options.sharesBroker ?? false;
    this.keys = new RedisKeys(this.prefix, redisDb(url));
    this.retries = { maxRetriesPerRequest: options.maxRetriesPerRequest };
    const redis = createRedis(url, { connectionName: 'lovage:state', ...this.retries });
    redis.defineCommand('lovageDeadLetterTake', { numberOfKeys: 3, lua: TAKE });
    this.redis = redis as Scripted;
    this.boundary = redisBoundary(url, StateError);
    this.revoked = this.boundary.guard(this.revokedStore());
    this.queues = this.boundary.guard(this.queueRegistry());
    this.deadLetters = this.boundary.guard(this.deadLetterStore());
    this.beat = this.boundary.guard(redisBeatStore(redis, this.prefix));
  }

  get settings(): SettingsStore {
    return (this.settingsStore ??= new SettingsStore(this.url, { prefix: this.prefix, ...this.retries }));
  }

  taskIndex(options: Omit<TaskIndexOptions, 'prefix'> = {}): TaskIndex {
    return new TaskIndex(this.url, { ...this.retries, ...options, prefix: this.prefix });
  }

  ping(timeoutMs = 5000): Promise<void> {
    return this.boundary.ping(this.redis, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all([closeRedis(this.redis), this.settingsStore?.close()]);
  }

  private revokedStore(): RevokedStore {
    const { redis, keys } = this;
    return {
      async add(ids, ttlSeconds) {
        if (ids.length === 0) return;
        const expiry = Date.now() + ttlSeconds * 1000;
        const args = ids.flatMap((id) => [expiry, id]);
        await redis
          .multi()
          .zadd(keys.revoked, ...args)
          .zremrangebyscore(keys.revoked, '-inf', Date.now())
          .exec();
      },
      current: () => redis.zrangebyscore(keys.revoked, Date.now(), '+inf'),
    };
  }

  private queueRegistry(): QueueRegistry {
    const { redis, keys } = this;
    const recorded = new Set<string>();
    // After a reconnect Redis may have restarted without its data: record queues again.
    redis.on('ready', () => recorded.clear());
    return {
      async add(queue) {
        if (recorded.has(queue)) return;
        await redis.sadd(keys.queues, queue);
        recorded.add(queue);
      },
      list: async () => (await redis.smembers(keys.queues)).sort(),
      async pause(pause) {
        const [[, was]] = (await redis
          .multi()
          .hget(keys.pausedQueues, pause.queue)
          .hset(keys.pausedQueues, pause.queue, JSON.stringify(pause))
          .exec()) as [[Error | null, string | null]];
        return was === null ? null : (JSON.parse(was) as QueuePause);
      },
      async resume(queue) {
        const waitingKey = keys.pauseWaiting(queue);
        const [[, was], [, waiting]] = (await redis
          .multi()
          .hget(keys.pausedQueues, queue)
          .smembers(waitingKey)
          .hdel(keys.pausedQueues, queue)
          .del(waitingKey)
          .exec()) as [[Error | null, string | null], [Error | null, string[]]];
        if (was === null) return null;
        return { ...(JSON.parse(was) as QueuePause), waiting: waiting.sort() };
      },
      async paused() {
        const all = await redis.hgetall(keys.pausedQueues);
        return Object.values(all)
          .map((json) => JSON.parse(json) as QueuePause)
          .sort((a, b) => a.queue.localeCompare(b.queue));
      },
      async pauseOf(queue) {
        const json = await redis.hget(keys.pausedQueues, queue);
        return json === null ? null : (JSON.parse(json) as QueuePause);
      },
      async waitFor(queue, hostname) {
        await redis.sadd(keys.pauseWaiting(queue), hostname);
      },
    };
  }

  private deadLetterStore(): DeadLetterStore {
    const { redis, keys, sharesBroker } = this;
    const take = async (queue: string, id: string, mode: 'requeue' | 'delete') => {
      const entry = await redis.lovageDeadLetterTake(
        keys.dead(queue),
        keys.bucket(queue, 0),
        keys.deadQueues,
        id,
        mode,
        queue,
      );
      return entry === null ? null : readEntry(entry);
    };
    const count = (queue: string) => redis.llen(keys.dead(queue));
    const store: DeadLetterStore = {
      async put(entry) {
        await redis
          .multi()
          .lpush(keys.dead(entry.queue), JSON.stringify(entry))
          .sadd(keys.deadQueues, entry.queue)
          .exec();
      },
      count,
      async queues() {
        const queues = (await redis.smembers(keys.deadQueues)).sort();
        const counts = await Promise.all(queues.map(count));
        return queues.map((queue, i) => ({ queue, count: counts[i]! })).filter((q) => q.count > 0);
      },
      async list(queue, offset = 0, limit = 100) {
        const items = await redis.lrange(keys.dead(queue), offset, offset + limit - 1);
        return items.map(readEntry);
      },
      take: (queue, id) => take(queue, id, 'delete'),
      async requeue(queue: string, id: string, broker: Broker) {
        // On the broker's own Redis the raw envelope goes back as it was, in the same script that removes
        // the entry: byte for byte (Celery tools see the message they sent) and never lost in between.
        if (sharesBroker) return (await take(queue, id, 'requeue')) !== null;
        return requeueByPublish(store, broker, queue, id);
      },
      delete: async (queue, id) => (await take(queue, id, 'delete')) !== null,
    };
    return store;
  }
}
