/**
 * The worker's answers to remote control (Celery's pidbox commands, shared/celery-protocol.md §7.2), in the
 * payload shapes Celery's own workers reply with, so `celery inspect`/`celery control` and Flower read a
 * Lovage worker as they read a Celery one. Returning `undefined` sends no reply (`shutdown`, as Celery).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { ControlRequest } from '../control/mailbox';
import { maskUrl } from '../broker/broker';
import type { Held, Worker } from './worker';

/** Celery's request info (§7.2) for `active`, `reserved`, `scheduled` and `query_task`. */
function requestInfo(w: Worker, h: Held) {
  const r = h.request;
  return {
    id: r.id,
    name: r.name,
    args: r.args,
    kwargs: r.kwargs,
    type: r.name,
    hostname: w.hostname,
    time_start: h.startedAt ? h.startedAt / 1000 : null,
    acknowledged: h.acknowledged,
    delivery_info: { exchange: '', routing_key: h.delivery.queue, priority: r.priority, redelivered: null },
    worker_pid: h.startedAt ? w.pool.pidOf(r.id) : null,
  };
}

const ok = (text: string) => ({ ok: text });
const nok = (text: string) => ({ error: text });

function ids(raw: unknown): string[] {
  return (Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string');
}

function seconds(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new RangeError(`time limit must be a positive number, got ${String(v)}`);
  return n;
}

/** A process's resident memory in bytes from /proc (Linux); null elsewhere or when it is gone. */
async function residentBytes(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : null;
}

/**
 * What the console weighs a pool size against: the host's CPUs and memory (free = available, as the
 * kernel counts it), this process's resident memory and, for prefork, each child's.
 */
async function hostResources(w: Worker) {
  const children =
    w.pool.kind === 'prefork'
      ? await Promise.all(
          w.pool.info().processes.map(async (pid) => ({ pid, rss: await residentBytes(pid) })),
        )
      : [];
  return {
    cpus: os.availableParallelism(),
    memoryTotal: os.totalmem(),
    memoryFree: os.freemem(),
    rss: process.memoryUsage.rss(),
    children,
  };
}

function resizeInBackground(w: Worker, size: number): void {
  w.setConcurrency(size).catch((err: unknown) => w.log.error({ err, size }, 'could not resize the pool'));
}

export async function handleControl(w: Worker, req: ControlRequest): Promise<unknown> {
  const a = req.arguments;
  switch (req.method) {
    case 'ping':
      return ok('pong');

    case 'revoke': {
      const list = ids(a.task_id);
      const terminated = w.revokeTasks(list, a.terminate === true);
      if (a.terminate === true) {
        return ok(terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown');
      }
      return ok(`tasks ${list.join(', ')} flagged as revoked`);
    }

    case 'active':
      // Only tasks handed to the pool: one being acknowledged is not running yet.
      return [...w.active.values()].filter((h) => h.startedAt).map((h) => requestInfo(w, h));

    case 'reserved':
      return w.ready.map((h) => requestInfo(w, h));

    case 'scheduled':
      return [...w.scheduled].map((h) => ({
        eta: h.request.eta?.toISOString() ?? null,
        priority: h.request.priority,
        request: requestInfo(w, h),
      }));

    case 'query_task': {
      const wanted = new Set(ids(a.ids));
      const out: Record<string, [string, unknown]> = {};
      for (const h of w.active.values())
        if (wanted.has(h.request.id)) out[h.request.id] = ['active', requestInfo(w, h)];
      for (const h of w.ready)
        if (wanted.has(h.request.id)) out[h.request.id] = ['reserved', requestInfo(w, h)];
      for (const h of w.scheduled)
        if (wanted.has(h.request.id)) out[h.request.id] = ['scheduled', requestInfo(w, h)];
      return out;
    }

    case 'revoked':
      return [...w.revoked];

    case 'registered':
      return [...w.app.tasks.values()].map((def) => {
        const override = w.taskLimits.get(def.name);
        const rate =
          override && override.rateLimit !== undefined ? override.rateLimit : def.options.rateLimit;
        return rate ? `${def.name} [rate_limit=${rate}]` : def.name;
      });

    case 'stats': {
      const usage = process.resourceUsage();
      return {
        total: Object.fromEntries(w.totals),
        pid: process.pid,
        clock: '0',
        uptime: Math.round((Date.now() - w.startedAt) / 1000),
        pool: { ...w.pool.info(), implementation: `lovage.pool:${w.pool.kind}` },
        broker: { transport: 'redis', url: w.app.broker.displayUrl },
        prefetch_count: w.concurrency * w.prefetchMultiplier,
        rusage: { utime: usage.userCPUTime / 1e6, stime: usage.systemCPUTime / 1e6, maxrss: usage.maxRSS },
        sw_ident: 'lovage',
        lovage: {
          ...w.describe(),
          host: await hostResources(w),
          // The limits it applies per task now: stored settings and live rate_limit/time_limit changes.
          taskLimits: Object.fromEntries(w.taskLimits),
        },
      };
    }

    case 'active_queues':
      return w.queues.map((q) => ({
        name: q,
        exchange: { name: q, type: 'direct', durable: true, auto_delete: false, arguments: null },
        routing_key: q,
        queue_arguments: null,
        binding_arguments: null,
        consumer_arguments: null,
        durable: true,
        exclusive: false,
        auto_delete: false,
        no_ack: false,
        alias: null,
        bindings: [],
        no_declare: null,
        expires: null,
        message_ttl: null,
        max_length: null,
        max_length_bytes: null,
        max_priority: null,
      }));

    case 'conf': {
      const c = w.app.config;
      return {
        broker_url: maskUrl(c.broker),
        result_backend: c.backend ? maskUrl(c.backend) : null,
        task_default_queue: c.defaultQueue,
        result_expires: w.settings.resultExpires !== undefined ? w.settings.resultExpires : c.resultExpires,
        worker_concurrency: w.concurrency,
        worker_prefetch_multiplier: w.prefetchMultiplier,
        worker_pool: w.pool.kind,
        broker_transport_options: {
          visibility_timeout: w.settings.visibilityTimeout ?? c.brokerTransportOptions.visibilityTimeout,
          global_keyprefix: c.brokerTransportOptions.globalKeyprefix,
        },
        lovage_settings: w.settings,
        lovage_settings_version: w.settingsSource?.version ?? null,
      };
    }

    case 'report':
      return ok(
        [
          `software -> lovage (node ${process.version}) ${os.type()} ${os.release()}`,
          `node -> ${w.hostname} pid ${process.pid}`,
          `pool -> ${w.pool.kind} x${w.concurrency}`,
          `broker -> ${w.app.broker.displayUrl}`,
          `queues -> ${w.queues.join(', ')}`,
        ].join('\n'),
      );

    case 'rate_limit': {
      const name = String(a.task_name ?? '');
      if (!w.app.tasks.has(name)) return nok('unknown task');
      const rate = a.rate_limit === null || a.rate_limit === undefined ? null : String(a.rate_limit);
      try {
        w.setRateLimit(name, rate);
      } catch (err) {
        return nok(`Invalid rate limit string: ${(err as Error).message}`);
      }
      return ok(rate ? 'new rate limit set successfully' : 'rate limit disabled successfully');
    }

    case 'time_limit': {
      const name = String(a.task_name ?? '');
      if (!w.app.tasks.has(name)) return nok('unknown task');
      const hard = seconds(a.hard);
      const soft = seconds(a.soft);
      if (hard !== null && soft !== null && soft >= hard)
        return nok('soft time limit must be below the hard limit');
      w.setTimeLimits(name, hard, soft);
      return ok('time limits set successfully');
    }

    case 'pool_grow': {
      const n = Math.max(1, Math.trunc(Number(a.n ?? 1)) || 1);
      // Like Celery: reply now, grow in the background (new children take a second to start).
      resizeInBackground(w, w.concurrency + n);
      return ok('pool will grow');
    }

    case 'pool_shrink': {
      const n = Math.max(1, Math.trunc(Number(a.n ?? 1)) || 1);
      if (w.concurrency - n < 1) return nok(`cannot shrink the pool below 1 (it has ${w.concurrency})`);
      resizeInBackground(w, w.concurrency - n);
      return ok('pool will shrink');
    }

    case 'autoscale':
      return nok("ValueError('Autoscale not enabled')");

    case 'add_consumer': {
      const queue = typeof a.queue === 'string' ? a.queue.trim() : '';
      if (!queue) return nok('queue name required');
      if (w.queues.includes(queue)) return ok(`already consuming from ${JSON.stringify(queue)}`);
      w.setQueues([...w.queues, queue]);
      return ok(`add consumer ${queue}`);
    }

    case 'cancel_consumer': {
      const queue = typeof a.queue === 'string' ? a.queue : '';
      if (!w.queues.includes(queue)) return nok(`not consuming from ${queue}`);
      if (w.queues.length === 1) return nok(`cannot cancel ${queue}: it is the only queue consumed`);
      w.setQueues(w.queues.filter((q) => q !== queue));
      return ok(`no longer consuming from ${queue}`);
    }

    case 'enable_events':
    case 'disable_events': {
      const on = req.method === 'enable_events';
      if (!w.events) return nok('events are off for this worker');
      if (w.events.taskEvents === on) return ok(`task events already ${on ? 'enabled' : 'disabled'}`);
      w.events.taskEvents = on;
      return ok(`task events ${on ? 'enabled' : 'disabled'}`);
    }

    case 'heartbeat':
      await w.events?.heartbeat(5);
      return null;

    case 'hello':
      // Celery's mingle: peers exchange revoked ids. Ours live in Redis already; answer in Celery's shape.
      if (a.from_node === w.hostname) return null;
      return { revoked: {}, clock: 0 };

    case 'apply_settings':
      return { ok: 'settings applied', ...(await w.applySettings()) };

    case 'shutdown':
      w.log.warn('remote control asked this worker to shut down');
      w.emit('shutdown-requested');
      return undefined;

    default:
      return nok(`KeyError('${req.method}')`);
  }
}
