/**
 * The shapes the worker's parts share, apart from the `Worker` class so that the parts (strategy, request,
 * remote control, settings) depend on these and never on worker.ts: the import graph has no cycle.
 */
import type { EventEmitter } from 'node:events';
import type { App } from '../app/app';
import type { Logger } from '../logging';
import type { Delivery } from '../broker/broker';
import type { WorkerEventPublisher } from '../events/publisher';
import type { Pool } from '../pool/pool';
import type { TaskRequest } from '../protocol/message';
import type { SettingKey, SettingsVersion, TaskLimits, WorkerSettings } from '../settings/schema';
import type { TaskDefinition } from '../task/task';

/** A message this worker holds: ready, scheduled, or running. */
export interface Held {
  delivery: Delivery;
  request: TaskRequest;
  def: TaskDefinition;
  timer?: NodeJS.Timeout;
  /** Epoch ms this worker received the message (its wait here ends when it starts: the metrics' wait time). */
  receivedAt: number;
  /** Epoch ms the task started running. */
  startedAt?: number;
  acknowledged: boolean;
}

/** Why a task was not run, or stopped: Celery's task-revoked `terminated`/`expired` flags. */
export type RevokeReason = 'revoked' | 'expired' | 'terminated';

export interface SettingsReport {
  version: number | null;
  /** Settings changed on this worker now. */
  applied: SettingKey[];
  /** Settings that differ from what this worker runs and take effect at its next start. */
  restartRequired: SettingKey[];
  /** Settings pinned by this worker's command line, left as they are. */
  pinned: SettingKey[];
}

/**
 * The worker's own events, in its main process whatever the pool. Task events end with the message as held
 * here (its queue, when it was received and started), so a listener such as the metrics needs no map of its own.
 */
export interface WorkerEvents {
  'task-received': [TaskRequest, Held];
  'task-started': [TaskRequest, Held];
  'task-succeeded': [TaskRequest, { resultJson: string; runtime: number }, Held];
  'task-failed': [TaskRequest, { exception: string; traceback: string | null; runtime: number }, Held];
  'task-retried': [TaskRequest, { exception: string | null; eta: Date }, Held];
  'task-revoked': [TaskRequest, { reason: RevokeReason }, Held];
  /** A pool process was lost running an `acksLate` + `rejectOnWorkerLost` task: its message went back. */
  'task-rejected': [TaskRequest, Held];
  'message-dead-lettered': [{ queue: string; reason: string }];
  /** The broker took back the deliveries held here (a lapsed lease, a closed channel), with its reason. */
  'deliveries-lost': [reason: string];
  /** Remote control asked this worker to stop (`shutdown`); the service decides how to exit. */
  'shutdown-requested': [];
  /** Stored settings were applied (or found to need a restart). */
  'settings-applied': [SettingsReport];
}

/**
 * What the worker reads of the stored settings: the current version (`SettingsStore` is one). An interface,
 * so the worker core never depends on the Redis store, not even by type.
 */
export interface SettingsSource {
  current(): Promise<SettingsVersion | null>;
}

/** Where the worker's settings came from: it reloads them on `apply_settings` and reports drift. */
export interface SettingsSourceRef {
  store: SettingsSource;
  version: number;
  pinned: readonly SettingKey[];
}

/** What this worker runs with, for heartbeats, `stats` and the console's drift view. */
export interface WorkerDescription {
  pool: string;
  concurrency: number;
  prefetchMultiplier: number;
  queues: string[];
  settingsVersion: number | null;
  pinned: readonly SettingKey[];
}

/**
 * A running worker as its parts see it (Celery's `state` handed to a pidbox command): what it holds and
 * the few actions they may take. `Worker` implements it.
 */
export interface WorkerControl extends Pick<EventEmitter<WorkerEvents>, 'emit'> {
  readonly app: App;
  readonly hostname: string;
  readonly log: Logger;
  readonly pool: Pool;
  readonly events: WorkerEventPublisher | null;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly prefetchMultiplier: number;
  readonly concurrency: number;
  readonly queues: string[];
  settings: WorkerSettings;
  readonly settingsSource: SettingsSourceRef | null;
  /** Reserved, ready to run, waiting for a free slot. */
  readonly ready: Held[];
  /** ETA tasks and rate-limited tasks waiting for their time. */
  readonly scheduled: Set<Held>;
  readonly active: Map<string, Held>;
  readonly revoked: Set<string>;
  /** Per-task limits set at run time (remote control rate_limit/time_limit, console settings). */
  readonly taskLimits: Map<string, TaskLimits>;
  /** Tasks finished per name, for `stats`. */
  readonly totals: Map<string, number>;
  processed: number;
  describe(): WorkerDescription;
  setConcurrency(n: number): Promise<void>;
  setQueues(queues: string[]): void;
  setRateLimit(name: string, rateLimit: string | null | undefined): void;
  setTimeLimits(name: string, hard: number | null, soft: number | null): void;
  applySettings(): Promise<SettingsReport>;
  revokeTasks(ids: string[], terminate: boolean): string[];
}
