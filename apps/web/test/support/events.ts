/** Celery events as a worker and a client send them, to seed the task-state index like the monitor does. */
import type { CeleryEvent } from '@lovage/runtime';

const common = (hostname: string, at: number) => ({
  hostname,
  utcoffset: 0,
  pid: 4242,
  clock: Math.floor(at),
  timestamp: at / 1000,
});

export interface TaskSpec {
  id: string;
  name: string;
  at: number;
  args?: string;
  kwargs?: string;
  queue?: string;
  parentId?: string | null;
  rootId?: string | null;
  /** The group it is a member of, as Lovage's task-sent and task-received carry it. */
  group?: string | null;
}

const groupOf = (t: TaskSpec) => (t.group ? { group: t.group } : {});

export const ev = {
  sent: (t: TaskSpec): CeleryEvent => ({
    ...common('gen1@client', t.at),
    type: 'task-sent',
    uuid: t.id,
    root_id: t.rootId ?? t.id,
    parent_id: t.parentId ?? null,
    name: t.name,
    args: t.args ?? '()',
    kwargs: t.kwargs ?? '{}',
    retries: 0,
    eta: null,
    expires: null,
    queue: t.queue ?? 'celery',
    exchange: '',
    routing_key: t.queue ?? 'celery',
    ...groupOf(t),
  }),
  /** With `json`, as a Lovage worker sends it: the arguments as JSON too (what Retry re-sends). */
  received: (
    t: TaskSpec,
    worker: string,
    at: number,
    json?: { args: unknown[]; kwargs: object },
  ): CeleryEvent => ({
    ...common(worker, at),
    type: 'task-received',
    uuid: t.id,
    name: t.name,
    args: t.args ?? '()',
    kwargs: t.kwargs ?? '{}',
    root_id: t.rootId ?? t.id,
    parent_id: t.parentId ?? null,
    retries: 0,
    eta: null,
    expires: null,
    queue: t.queue ?? 'celery',
    ...groupOf(t),
    ...(json ? { args_json: JSON.stringify(json.args), kwargs_json: JSON.stringify(json.kwargs) } : {}),
  }),
  started: (id: string, worker: string, at: number): CeleryEvent => ({
    ...common(worker, at),
    type: 'task-started',
    uuid: id,
  }),
  succeeded: (id: string, worker: string, at: number, result = '5'): CeleryEvent => ({
    ...common(worker, at),
    type: 'task-succeeded',
    uuid: id,
    result,
    runtime: 0.25,
  }),
  failed: (id: string, worker: string, at: number, exception: string, traceback: string): CeleryEvent => ({
    ...common(worker, at),
    type: 'task-failed',
    uuid: id,
    exception,
    traceback,
  }),
  heartbeat: (worker: string, at: number, extra: Record<string, unknown> = {}): CeleryEvent => ({
    ...common(worker, at),
    type: 'worker-heartbeat',
    freq: 2,
    active: 1,
    processed: 10,
    loadavg: [0.1, 0.2, 0.3],
    sw_ident: 'lovage',
    sw_ver: '0.1.0',
    sw_sys: 'Linux',
    ...extra,
  }),
};
