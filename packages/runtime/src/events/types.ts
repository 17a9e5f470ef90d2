/**
 * Celery's events (shared/celery-protocol.md §6) as TypeScript types, field for field as a 5.2.6 worker
 * sends them. Every event also carries the common fields; Lovage adds non-Celery fields (a `queue` on
 * `task-received`, a `lovage` object on worker events), which the index signature allows.
 */

/** The software name Lovage workers report in `sw_ident` (Celery: "py-celery"). */
export const SW_IDENT = 'lovage';
/** The version Lovage workers report in `sw_ver`; kept in step with packages/runtime/package.json. */
export const SW_VERSION = '0.1.0';

export { EVENT_EXCHANGE } from '../protocol/exchanges';

/** Fields every event carries. */
export interface EventCommon {
  /** The sender's node name (`w1@host`; for `task-sent`, the client's). */
  hostname: string;
  /** Hours *west* of UTC, floored (Python `time.timezone // 3600`): New York 5, Berlin -1. */
  utcoffset: number;
  /** The sender's main process id. */
  pid: number;
  /** The sender's Lamport clock. */
  clock: number;
  /** When the event happened: epoch seconds, as a float. */
  timestamp: number;
  /** Fields Celery does not define (Lovage's `queue` on task-received, `lovage` on worker events). */
  [field: string]: unknown;
}

export interface TaskSentEvent extends EventCommon {
  type: 'task-sent';
  uuid: string;
  root_id: string | null;
  parent_id: string | null;
  name: string;
  /** Python repr of the positional arguments, `(2, 3)`. */
  args: string;
  /** Python repr of the keyword arguments, `{'k': 1}`. */
  kwargs: string;
  retries: number;
  /** ISO-8601 or null. */
  eta: string | null;
  expires: string | null;
  queue: string;
  exchange: string;
  routing_key: string;
}

export interface TaskReceivedEvent extends EventCommon {
  type: 'task-received';
  uuid: string;
  name: string;
  args: string;
  kwargs: string;
  root_id: string | null;
  parent_id: string | null;
  retries: number;
  eta: string | null;
  expires: string | null;
}

export interface TaskStartedEvent extends EventCommon {
  type: 'task-started';
  uuid: string;
}

export interface TaskSucceededEvent extends EventCommon {
  type: 'task-succeeded';
  uuid: string;
  /** Python repr of the return value, a string (`"5"`). */
  result: string;
  /** Seconds the task ran. */
  runtime: number;
}

export interface TaskFailedEvent extends EventCommon {
  type: 'task-failed';
  uuid: string;
  /** Python repr of the exception, `"ValueError('boom')"`. */
  exception: string;
  traceback: string;
}

export interface TaskRetriedEvent extends EventCommon {
  type: 'task-retried';
  uuid: string;
  exception: string;
  traceback: string;
}

export interface TaskRejectedEvent extends EventCommon {
  type: 'task-rejected';
  uuid: string;
  requeue: boolean;
}

export interface TaskRevokedEvent extends EventCommon {
  type: 'task-revoked';
  uuid: string;
  terminated: boolean;
  signum: number | null;
  expired: boolean;
}

export interface WorkerEvent extends EventCommon {
  type: 'worker-online' | 'worker-heartbeat' | 'worker-offline';
  /** Seconds between heartbeats (2.0; 5 when a console asked for one with the `heartbeat` command). */
  freq: number;
  /** Tasks running now. */
  active: number;
  /** Tasks handled since the worker started. */
  processed: number;
  /** 1, 5 and 15 minute load averages. */
  loadavg: number[];
  sw_ident: string;
  sw_ver: string;
  sw_sys: string;
}

export type TaskEvent =
  | TaskSentEvent
  | TaskReceivedEvent
  | TaskStartedEvent
  | TaskSucceededEvent
  | TaskFailedEvent
  | TaskRetriedEvent
  | TaskRejectedEvent
  | TaskRevokedEvent;

export type CeleryEvent = TaskEvent | WorkerEvent;

export type TaskEventType = TaskEvent['type'];
/** The event type of a `type`: `EventOf<'task-failed'>` is TaskFailedEvent. */
export type EventOf<T extends CeleryEventType> = T extends WorkerEventType
  ? WorkerEvent
  : Extract<TaskEvent, { type: T }>;
export type WorkerEventType = WorkerEvent['type'];
export type CeleryEventType = CeleryEvent['type'];

export const TASK_EVENT_TYPES: readonly TaskEventType[] = [
  'task-sent',
  'task-received',
  'task-started',
  'task-succeeded',
  'task-failed',
  'task-retried',
  'task-rejected',
  'task-revoked',
];

export const WORKER_EVENT_TYPES: readonly WorkerEventType[] = [
  'worker-online',
  'worker-heartbeat',
  'worker-offline',
];

const TASK_TYPES: ReadonlySet<string> = new Set(TASK_EVENT_TYPES);
const WORKER_TYPES: ReadonlySet<string> = new Set(WORKER_EVENT_TYPES);

export function isTaskEvent(event: CeleryEvent): event is TaskEvent {
  return TASK_TYPES.has(event.type);
}

export function isWorkerEvent(event: CeleryEvent): event is WorkerEvent {
  return WORKER_TYPES.has(event.type);
}

export function isTaskEventType(type: string): type is TaskEventType {
  return TASK_TYPES.has(type);
}

export function isWorkerEventType(type: string): type is WorkerEventType {
  return WORKER_TYPES.has(type);
}

/** The task state an event reports (Celery's `TASK_EVENT_TO_STATE`). */
export const TASK_EVENT_STATE: Readonly<Record<TaskEventType, string>> = {
  'task-sent': 'PENDING',
  'task-received': 'RECEIVED',
  'task-started': 'STARTED',
  'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-rejected': 'REJECTED',
  'task-revoked': 'REVOKED',
};
