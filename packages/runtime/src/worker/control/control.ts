/** Control commands: they change what the worker runs or how. */
import type { WorkerControl } from '../types';
import { controlCommand, ids, nok, ok, type Command } from './registry';

function seconds(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new RangeError(`time limit must be a positive number, got ${String(v)}`);
  return n;
}

function resizeInBackground(w: WorkerControl, size: number): void {
  w.setConcurrency(size).catch((err: unknown) => w.log.error({ err, size }, 'could not resize the pool'));
}

function setTaskEvents(w: WorkerControl, on: boolean) {
  if (!w.events) return nok('events are off for this worker');
  if (w.events.taskEvents === on) return ok(`task events already ${on ? 'enabled' : 'disabled'}`);
  w.events.taskEvents = on;
  return ok(`task events ${on ? 'enabled' : 'disabled'}`);
}

export const CONTROL_COMMANDS = {
  revoke: controlCommand((w, a) => {
    const list = ids(a.task_id);
    const terminated = w.revokeTasks(list, a.terminate === true);
    if (a.terminate === true) {
      return ok(terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown');
    }
    return ok(`tasks ${list.join(', ')} flagged as revoked`);
  }),

  rate_limit: controlCommand((w, a) => {
    const name = String(a.task_name ?? '');
    if (!w.app.tasks.has(name)) return nok('unknown task');
    const rate = a.rate_limit === null || a.rate_limit === undefined ? null : String(a.rate_limit);
    try {
      w.setRateLimit(name, rate);
    } catch (err) {
      return nok(`Invalid rate limit string: ${(err as Error).message}`);
    }
    return ok(rate ? 'new rate limit set successfully' : 'rate limit disabled successfully');
  }),

  time_limit: controlCommand((w, a) => {
    const name = String(a.task_name ?? '');
    if (!w.app.tasks.has(name)) return nok('unknown task');
    const hard = seconds(a.hard);
    const soft = seconds(a.soft);
    if (hard !== null && soft !== null && soft >= hard)
      return nok('soft time limit must be below the hard limit');
    w.setTimeLimits(name, hard, soft);
    return ok('time limits set successfully');
  }),

  pool_grow: controlCommand((w, a) => {
    const n = Math.max(1, Math.trunc(Number(a.n ?? 1)) || 1);
    // Like Celery: reply now, grow in the background (new children take a second to start).
    resizeInBackground(w, w.concurrency + n);
    return ok('pool will grow');
  }),

  pool_shrink: controlCommand((w, a) => {
    const n = Math.max(1, Math.trunc(Number(a.n ?? 1)) || 1);
    if (w.concurrency - n < 1) return nok(`cannot shrink the pool below 1 (it has ${w.concurrency})`);
    resizeInBackground(w, w.concurrency - n);
    return ok('pool will shrink');
  }),

  autoscale: controlCommand(() => nok("ValueError('Autoscale not enabled')")),

  add_consumer: controlCommand((w, a) => {
    const queue = typeof a.queue === 'string' ? a.queue.trim() : '';
    if (!queue) return nok('queue name required');
    if (w.queues.includes(queue)) return ok(`already consuming from ${JSON.stringify(queue)}`);
    w.setQueues([...w.queues, queue]);
    return ok(`add consumer ${queue}`);
  }),

  cancel_consumer: controlCommand(async (w, a) => {
    const queue = typeof a.queue === 'string' ? a.queue : '';
    if (!w.queues.includes(queue)) return nok(`not consuming from ${queue}`);
    // A queue paused for every worker (pauseQueue) may be a worker's only one: it idles until resumed.
    const paused = (await w.app.state.queues.pauseOf(queue)) !== null;
    if (w.queues.length === 1 && !paused) {
      return nok(`cannot cancel ${queue}: it is the only queue consumed`);
    }
    w.setQueues(w.queues.filter((q) => q !== queue));
    // Named for resume even if the pause's `active_queues` census missed this worker (it started meanwhile).
    if (paused) await w.app.state.queues.waitFor(queue, w.hostname);
    return ok(`no longer consuming from ${queue}`);
  }),

  enable_events: controlCommand((w) => setTaskEvents(w, true)),
  disable_events: controlCommand((w) => setTaskEvents(w, false)),

  heartbeat: controlCommand(async (w) => {
    await w.events?.heartbeat(5);
    return null;
  }),

  apply_settings: controlCommand(async (w) => ({ ok: 'settings applied', ...(await w.applySettings()) })),

  shutdown: controlCommand((w) => {
    w.log.warn('remote control asked this worker to shut down');
    w.emit('shutdown-requested');
    return undefined;
  }),
} satisfies Record<string, Command>;
