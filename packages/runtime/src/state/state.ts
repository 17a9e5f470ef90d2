/**
 * The state store: Lovage's own records, kept apart from the broker because a transport has no place for
 * them (AMQP cannot list its queues, keep revoked ids, or take a message out of the middle of a queue by
 * id). One URL (the app's `state` option) opens all of them: revoked ids, the queue registry, dead letters,
 * the worker settings versions and the console's task index. Redis implements it (`state/redis/`), under
 * the same keys the broker used when it held these records, so existing data is read as it is.
 */
import type { BeatDefinition } from '../beat/schedule';
import type { Broker } from '../broker/broker';
import type { TaskIndex, TaskIndexOptions } from '../monitor/task-index';
import type { InboundMessage } from '../protocol/message';
import type { SettingsStore } from '../settings/store';

/** Task ids revoked for a while, so that workers started later honour them too (Celery: `--statedb`). */
export interface RevokedStore {
  /** Records `ids` as revoked for `ttlSeconds`. */
  add(ids: readonly string[], ttlSeconds: number): Promise<void>;
  /** Revoked ids still in force. */
  current(): Promise<string[]>;
}

/** Every queue a Lovage client has published to (empty or not), by name, and the queues paused. */
export interface QueueRegistry {
  /** Records a queue; cheap to call on every publish (each store remembers what it recorded). */
  add(queue: string): Promise<void>;
  /** The recorded queues, sorted by name. */
  list(): Promise<string[]>;
  /** Records a queue as paused (replacing an earlier pause of it); returns the earlier one, or null. */
  pause(pause: QueuePause): Promise<QueuePause | null>;
  /** Removes a queue's pause; returns it with the workers waiting to resume it, or null when not paused. */
  resume(queue: string): Promise<(QueuePause & { waiting: string[] }) | null>;
  /** The paused queues, by name. */
  paused(): Promise<QueuePause[]>;
  /** One queue's pause, or null when it is not paused. */
  pauseOf(queue: string): Promise<QueuePause | null>;
  /** Notes that a worker started while `queue` was paused and left it out: `resume` names it. */
  waitFor(queue: string, hostname: string): Promise<void>;
}

/** A queue paused for every worker, and by whom: workers started later leave it out until it is resumed. */
export interface QueuePause {
  queue: string;
  /** Who paused it (a console user's email, or what the caller gave). */
  by: string;
  reason: string;
  /** Epoch milliseconds. */
  at: number;
  /** The workers that consumed it when it was paused (`active_queues`): `resume` tells them to again. */
  workers: string[];
}

/** A message no worker could run, kept with why. */
export interface DeadLetter {
  /** Identifies the entry for requeue and delete. */
  id: string;
  queue: string;
  reason: string;
  /** The message decoded, when its envelope could be read; requeue publishes it again. */
  message: InboundMessage | null;
  /** The message as the broker held it, for display (and, on one Redis, put back byte for byte). */
  raw: string;
  /** Epoch milliseconds. */
  at: number;
  consumer: string | null;
}

export interface DeadLetterStore {
  /** Keeps an entry (newest first). */
  put(entry: DeadLetter): Promise<void>;
  /** How many dead letters a queue holds. */
  count(queue: string): Promise<number>;
  /** The queues that have dead letters, by name, with how many each holds. */
  queues(): Promise<{ queue: string; count: number }[]>;
  /** The dead letters of a queue, newest first. */
  list(queue: string, offset?: number, limit?: number): Promise<DeadLetter[]>;
  /** Removes an entry and returns it; null when there is no such entry (someone took it first). */
  take(queue: string, id: string): Promise<DeadLetter | null>;
  /**
   * Puts a dead letter's message back on its queue, behind the others, through `broker`. False when there
   * is no such entry. An unreadable message cannot be re-published (MalformedMessageError, the entry kept)
   * unless `sharesBroker`, where its raw text goes back as it was.
   */
  requeue(queue: string, id: string, broker: Broker): Promise<boolean>;
  /** Deletes a dead letter. False when there is no such entry. */
  delete(queue: string, id: string): Promise<boolean>;
}

/** An entry's timing as beat keeps it (epoch milliseconds), surviving restarts. */
export interface BeatEntryState {
  /** The schedule's definition (`scheduleKey`): when it changes, the timing starts afresh. */
  schedule: string;
  /** The due time of the last run sent; null before the first. */
  last: number | null;
  /** When the entry is next due. */
  next: number;
}

/** How a fenced claim ended: recorded, refused because another beat changed the entry, or lease lost. */
export type ClaimOutcome = 'claimed' | 'changed' | 'not-leader';

/** A schedule entry as the store keeps it: beat's code entries (published) and the console's own. */
export interface StoredBeatEntry {
  /** `code`: the app's `beatSchedule`, published by beat at start; `console`: defined in the console. */
  source: 'code' | 'console';
  definition: BeatDefinition;
  /** Epoch ms of the last change, and who made it (a console user's email; null for code entries). */
  updatedAt: number;
  updatedBy: string | null;
}

/** One run of an entry, newest first in its history. */
export interface BeatRun {
  taskId: string;
  /** Epoch ms the run was due (for "run now": when it was asked for). */
  due: number;
  /** Epoch ms it was sent. */
  sent: number;
  /** `beat`, or the console user who asked for it ("run now"). */
  by: string;
  /** Due times passed unsent that this run stands for (`beatMissedRuns: 'once'`). */
  missed: number;
}

/**
 * Where the app that runs beat sends tasks (its default queue, and the queue of each task it registers with
 * one of its own), published with its code entries: the console's "run now" routes as beat would.
 */
export interface BeatRoutes {
  defaultQueue: string;
  tasks: Record<string, string>;
}

/** How a console change to an entry ended: done, the name taken (create), no such entry, or a code entry's. */
export type DefineOutcome = 'ok' | 'exists' | 'missing' | 'code';

/** How many runs each entry's history keeps. */
export const BEAT_HISTORY_LENGTH = 50;

/**
 * Beat's records: one leader lease, so that among several beats one sends, and the entries' timing, which
 * only the lease holder changes (the claim checks the lease in the same atomic step).
 */
export interface BeatStore {
  /** Takes the lease for `ttlMs`, or renews it if `token` holds it. True when `token` holds it now. */
  lease(token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `token` holds it. */
  release(token: string): Promise<boolean>;
  /** The token holding the lease, or null. */
  holder(): Promise<string | null>;
  /** Every entry's stored timing, by name. */
  entries(): Promise<Record<string, BeatEntryState>>;
  /** One entry's stored timing, or null when it has none yet. */
  read(name: string): Promise<BeatEntryState | null>;
  /**
   * Stores `next` as the entry's timing if `token` still holds the lease and the entry is still `expected`
   * (what `read` returned), in one atomic step. Only a claimed run may be sent.
   */
  claim(
    token: string,
    name: string,
    expected: BeatEntryState | null,
    next: BeatEntryState,
  ): Promise<ClaimOutcome>;
  /**
   * Replaces the published code entries with `entries` (beat, at start): code entries gone from the app
   * are removed, and a console entry of the same name gives way to the code one.
   */
  publishCode(entries: Record<string, BeatDefinition>, routes: BeatRoutes): Promise<void>;
  /** The routes the last beat to start published, or null before any did. */
  routes(): Promise<BeatRoutes | null>;
  /** Every stored entry, code and console, by name. */
  definitions(): Promise<Record<string, StoredBeatEntry>>;
  /**
   * Creates, updates or deletes (`definition` null) a console entry, in one atomic step that refuses a
   * code entry's name. Deleting drops its timing, flag and history too.
   */
  define(
    name: string,
    mode: 'create' | 'update' | 'delete',
    definition: BeatDefinition | null,
    by: string | null,
  ): Promise<DefineOutcome>;
  /** Enables or disables a stored entry (code or console). False when there is no such entry. */
  setEnabled(name: string, enabled: boolean): Promise<boolean>;
  /** The names of the disabled entries. */
  disabled(): Promise<string[]>;
  /** Counts changes to the entries and flags: a beat reloads them when it moved. */
  version(): Promise<number>;
  /** Adds a run to an entry's history (the newest `BEAT_HISTORY_LENGTH` are kept). */
  record(name: string, run: BeatRun): Promise<void>;
  /** An entry's runs, newest first. */
  history(name: string, limit?: number): Promise<BeatRun[]>;
}

export interface StateStore {
  /** The URL with any password masked, for logs and the console. */
  readonly displayUrl: string;
  /**
   * True when the records live in the broker's own database under its prefix (a Redis broker and state on
   * one URL): the broker's consumer then dead-letters in one atomic step (`Consumer.deadLetter`, when the
   * broker declares `atomicDeadLetter`), the broker's publish records its queues itself, and requeue puts
   * the raw message back byte for byte. Otherwise dead-lettering is put-then-ack and requeue re-publishes.
   */
  readonly sharesBroker: boolean;
  readonly revoked: RevokedStore;
  readonly queues: QueueRegistry;
  readonly deadLetters: DeadLetterStore;
  /** The worker settings versions (opened on first use, closed with the store). */
  readonly settings: SettingsStore;
  /** Beat's leader lease and schedule timing. */
  readonly beat: BeatStore;
  /** Opens the task index on this store; the caller owns it and closes it. */
  taskIndex(options?: Omit<TaskIndexOptions, 'prefix'>): TaskIndex;
  /** Checks the store answers within `timeoutMs`; rejects saying where and why not. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}
