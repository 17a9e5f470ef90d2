/**
 * ioredis connections as the broker and the result backend use them: auto-pipelining (commands issued in
 * the same tick share one write), endless reconnects with a capped backoff, and commands issued while
 * disconnected queued until the connection is back or `maxRetriesPerRequest` reconnects have failed.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** How long a command waits for an unreachable Redis; the option of every Redis-backed class. */
export interface RedisRetryOptions {
  /**
   * Reconnects a command waits through while Redis is unreachable before it fails (ioredis'
   * maxRetriesPerRequest, 20: about half a minute). A console answering people wants 1; null waits forever.
   */
  maxRetriesPerRequest?: number | null;
}

export interface RedisConnectionOptions extends RedisRetryOptions {
  /** Label in CLIENT LIST, to tell Lovage's connections apart. */
  connectionName?: string;
  /**
   * Batch commands issued in the same tick into one write (default true). Worth it where many commands are
   * in flight at once (a worker's acks and results); a cost of ~30 µs per command where one is awaited at a
   * time (a client publishing from a request handler).
   */
  autoPipelining?: boolean;
}

export function createRedis(url: string, opts: RedisConnectionOptions = {}): Redis {
  const options: RedisOptions = {
    enableAutoPipelining: opts.autoPipelining ?? true,
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? 20 : opts.maxRetriesPerRequest,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    lazyConnect: true,
    connectionName: opts.connectionName ?? 'lovage',
  };
  const redis = new Redis(url, options);
  // Connection errors reach callers as rejected commands (and owners that care listen too); without a
  // listener ioredis prints "Unhandled error event" on every reconnect attempt while Redis is down.
  redis.on('error', () => undefined);
  return redis;
}

/** The database number of a redis:// URL (`/1` → 1), for pub/sub channel names such as `/0.celery.pidbox`. */
export function redisDb(url: string): number {
  const path = new URL(url).pathname.replace(/^\//, '');
  const n = path === '' ? 0 : Number(path);
  return Number.isInteger(n) ? n : 0;
}

/** Closes a connection: QUIT when it is up (pending replies arrive first), otherwise drop it at once. */
export async function closeRedis(redis: Redis | null | undefined): Promise<void> {
  if (!redis) return;
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}
