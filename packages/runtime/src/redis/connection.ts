/**
 * ioredis connections as the broker and the result backend use them: auto-pipelining (commands issued in
 * the same tick share one write), endless reconnects with a capped backoff, and commands issued while
 * disconnected queued until the connection is back or `maxRetriesPerRequest` reconnects have failed; and
 * `redisBoundary`, which keeps ioredis' connection errors inside the adapters.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { maskUrl } from '../broker/broker';
import { LovageError } from '../errors';

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

/** A subsystem's "unavailable" error (BrokerError, BackendError, StateError), built from a message and its cause. */
export type UnavailableError = new (message: string, options: { cause: unknown }) => LovageError;

/** ioredis' errors for "Redis cannot be reached", as opposed to Redis refusing a command (a ReplyError). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * Whether an ioredis error means Redis could not be reached: a refused, unresolved, reset or timed-out
 * connection, a command given up after `maxRetriesPerRequest` reconnects, a closed connection.
 */
export function isRedisUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    (typeof code === 'string' && UNREACHABLE_CODES.has(code)) ||
    /^(Connection is closed|Stream isn't writeable)/.test(err.message)
  );
}

/** What a Redis adapter's error messages name: its URL with the password masked. */
export function redisDisplayUrl(source: string | Redis): string {
  if (typeof source === 'string') return maskUrl(source);
  const { host, port, db, password, tls } = source.options;
  const scheme = tls ? 'rediss' : 'redis';
  return `${scheme}://${password ? ':****@' : ''}${host ?? 'localhost'}:${port ?? 6379}/${db ?? 0}`;
}

export interface RedisBoundary {
  /** The URL errors name, password masked. */
  readonly displayUrl: string;
  /** Runs an adapter call: a connection error becomes the adapter's "unavailable" error; any other passes. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** The error `run` would throw for `err`. */
  wrap(err: unknown): unknown;
  /** A store object (methods returning promises) whose every method runs inside the boundary. */
  guard<T extends object>(store: T): T;
  /**
   * Resolves when `redis` answers PING within `timeoutMs`; else rejects with the "unavailable" error, its
   * message ending with why (`(connect ECONNREFUSED 127.0.0.1:6379)`).
   */
  ping(redis: Redis, timeoutMs: number): Promise<void>;
}

/**
 * The boundary of a Redis adapter (result backend, task index, settings store, state stores): ioredis'
 * connection errors never leave it; callers get the adapter's subsystem error saying
 * `Redis is not reachable at redis://:****@host:6379/0`, with the ioredis error as its cause.
 */
export function redisBoundary(source: string | Redis, Unavailable: UnavailableError): RedisBoundary {
  const displayUrl = redisDisplayUrl(source);
  const unavailable = (cause: unknown) =>
    new Unavailable(`Redis is not reachable at ${displayUrl}`, { cause });
  const wrap = (err: unknown) =>
    err instanceof LovageError || !isRedisUnreachable(err) ? err : unavailable(err);
  const run = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw wrap(err);
    }
  };
  return {
    displayUrl,
    wrap,
    run,
    guard(store) {
      const guarded = { ...store } as Record<string, unknown>;
      for (const [name, member] of Object.entries(store)) {
        if (typeof member !== 'function') continue;
        const method = member as (...args: unknown[]) => Promise<unknown>;
        guarded[name] = (...args: unknown[]) => run(() => method.apply(store, args));
      }
      return guarded as typeof store;
    },
    async ping(redis, timeoutMs) {
      // The connection's own failure (ECONNREFUSED…) says more than ioredis giving up on the command.
      let seen: Error | null = null;
      const onError = (err: Error) => {
        seen = err;
      };
      redis.on('error', onError);
      const failed = (err: Error) =>
        new Unavailable(`Redis is not reachable at ${displayUrl} (${(seen ?? err).message})`, {
          cause: seen ?? err,
        });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(failed(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
      });
      try {
        // Any refusal (NOAUTH too) means the adapter cannot work: all of them are "unavailable" here.
        const answer = redis.ping().catch((err: unknown) => {
          throw err instanceof LovageError
            ? err
            : failed(err instanceof Error ? err : new Error(String(err)));
        });
        await Promise.race([answer, late]);
      } finally {
        clearTimeout(timer);
        redis.off('error', onError);
      }
    },
  };
}
