/**
 * The current worker settings version in Redis, next to the queues: the console saves a new version, every
 * worker reads it when it starts and again when told (remote control `apply_settings`, or the change
 * channel). Redis holds only the current version; the console keeps the history in its audit database.
 *
 * Saving is compare-and-set on the version number (one Lua script), so two operators editing at once
 * cannot silently overwrite each other.
 */
import type { Redis } from 'ioredis';
import { SettingsConflictError, SettingsInvalidError, StateError } from '../errors';
import {
  closeRedis,
  createRedis,
  redisBoundary,
  type RedisBoundary,
  type RedisRetryOptions,
} from '../redis/connection';
import { loadLua } from '../redis/scripts';
import { unknownKeyMessage } from '../app/suggest';
import { taskLimitsSchema, workerSettingsSchema, type SettingsVersion, type WorkerSettings } from './schema';

const SAVE = loadLua(new URL('./scripts/', import.meta.url), 'save');

export interface SettingsStoreOptions extends RedisRetryOptions {
  /** Key prefix; use the broker's `globalKeyprefix` so settings live beside the queues they govern. */
  prefix?: string;
}

/** Checks settings against the schema; the error names the first bad field. */
export function parseSettings(input: unknown): WorkerSettings {
  const res = workerSettingsSchema.safeParse(input);
  if (!res.success) {
    const first = res.error.issues[0]!;
    if (first.code === 'unrecognized_keys') {
      // A typo in stored settings (or a setting this version does not know) is refused, naming the fix.
      const known = Object.keys(first.path.length ? taskLimitsSchema.shape : workerSettingsSchema.shape);
      throw new SettingsInvalidError(
        unknownKeyMessage('setting', first.path.map(String), first.keys[0]!, known),
      );
    }
    throw new SettingsInvalidError(`${first.path.join('.') || 'settings'}: ${first.message}`);
  }
  return res.data;
}

export class SettingsStore {
  readonly key: string;
  readonly channel: string;
  private readonly redis: Redis;
  private subscriber: Redis | null = null;
  /** Redis' connection errors leave as StateError naming the URL. */
  private readonly boundary: RedisBoundary;

  constructor(redis: string | Redis, options: SettingsStoreOptions = {}) {
    const prefix = options.prefix ?? '';
    this.key = `${prefix}lovage:settings`;
    this.channel = `${prefix}lovage:settings:changed`;
    this.redis =
      typeof redis === 'string'
        ? createRedis(redis, {
            connectionName: 'lovage:settings',
            maxRetriesPerRequest: options.maxRetriesPerRequest,
          })
        : redis;
    this.ownsConnection = typeof redis === 'string';
    this.boundary = redisBoundary(redis, StateError);
  }

  private readonly ownsConnection: boolean;

  /** The current version, or null when none was ever saved. A stored value that fails the schema throws. */
  async current(): Promise<SettingsVersion | null> {
    const raw = await this.boundary.run(() => this.redis.get(this.key));
    if (raw === null) return null;
    let parsed: SettingsVersion;
    try {
      parsed = JSON.parse(raw) as SettingsVersion;
    } catch {
      throw new SettingsInvalidError(`${this.key} does not hold JSON`);
    }
    return { ...parsed, settings: parseSettings(parsed.settings) };
  }

  /** Stores `settings` as the next version if the current one is still `expectedVersion` (0: none yet). */
  async save(
    settings: WorkerSettings,
    options: { expectedVersion: number; updatedBy: string | null },
  ): Promise<SettingsVersion> {
    const valid = parseSettings(settings);
    const res = (await this.boundary.run(() =>
      this.redis.eval(
        SAVE,
        1,
        this.key,
        String(options.expectedVersion),
        JSON.stringify(valid),
        JSON.stringify(new Date().toISOString()),
        JSON.stringify(options.updatedBy ?? null),
        this.channel,
      ),
    )) as [number, number, string?];
    if (res[0] === 0) throw new SettingsConflictError(options.expectedVersion, res[1]);
    const stored = JSON.parse(res[2]!) as SettingsVersion;
    return { ...stored, settings: valid };
  }

  /** Calls `onChange(version)` whenever a new version is saved, until the returned function is called. */
  async subscribe(onChange: (version: number) => void): Promise<() => Promise<void>> {
    const sub = (this.subscriber ??= (() => {
      const c = this.redis.duplicate({ connectionName: 'lovage:settings-sub', maxRetriesPerRequest: null });
      c.on('error', () => undefined);
      return c;
    })());
    const listener = (channel: string, message: string) => {
      if (channel === this.channel) onChange(Number(message));
    };
    sub.on('message', listener);
    await this.boundary.run(() => sub.subscribe(this.channel));
    return async () => {
      sub.off('message', listener);
    };
  }

  /** Resolves when Redis answers within `timeoutMs`; else rejects with a StateError naming the URL. */
  ping(timeoutMs = 5000): Promise<void> {
    return this.boundary.ping(this.redis, timeoutMs);
  }

  async close(): Promise<void> {
    await closeRedis(this.subscriber);
    this.subscriber = null;
    if (this.ownsConnection) await closeRedis(this.redis);
  }
}
