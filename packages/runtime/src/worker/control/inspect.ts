/** Inspect commands: what the worker holds and runs with. None changes anything. */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { maskUrl } from '../../broker/broker';
import type { Held, WorkerControl } from '../types';
import { ids, inspectCommand, ok, type Command } from './registry';

/** Celery's request info (§7.2) for `active`, `reserved`, `scheduled` and `query_task`. */
function requestInfo(w: WorkerControl, h: Held) {
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
    delivery_info: {
      exchange: '',
      routing_key: h.delivery.queue,
      priority: r.priority,
      redelivered: r.redelivered,
    },
    worker_pid: h.startedAt ? w.pool.pidOf(r.id) : null,
  };
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
async function hostResources(w: WorkerControl) {
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

export const INSPECT_COMMANDS = {
  ping: inspectCommand(() => ok('pong')),

  // Only tasks handed to the pool: one being acknowledged is not running yet.
  active: inspectCommand((w) =>
    [...w.active.values()].filter((h) => h.startedAt).map((h) => requestInfo(w, h)),
  ),

  reserved: inspectCommand((w) => w.ready.map((h) => requestInfo(w, h))),

  scheduled: inspectCommand((w) =>
    [...w.scheduled].map((h) => ({
      eta: h.request.eta?.toISOString() ?? null,
      priority: h.request.priority,
      request: requestInfo(w, h),
    })),
  ),

  query_task: inspectCommand((w, a) => {
    const wanted = new Set(ids(a.ids));
    const out: Record<string, [string, unknown]> = {};
    for (const h of w.active.values())
      if (wanted.has(h.request.id)) out[h.request.id] = ['active', requestInfo(w, h)];
    for (const h of w.ready)
      if (wanted.has(h.request.id)) out[h.request.id] = ['reserved', requestInfo(w, h)];
    for (const h of w.scheduled)
      if (wanted.has(h.request.id)) out[h.request.id] = ['scheduled', requestInfo(w, h)];
    return out;
  }),

  revoked: inspectCommand((w) => [...w.revoked]),

  registered: inspectCommand((w) =>
    [...w.app.tasks.values()].map((def) => {
      const override = w.taskLimits.get(def.name);
      const rate = override && override.rateLimit !== undefined ? override.rateLimit : def.options.rateLimit;
      return rate ? `${def.name} [rate_limit=${rate}]` : def.name;
    }),
  ),

  stats: inspectCommand(async (w) => {
    const usage = process.resourceUsage();
    return {
      total: Object.fromEntries(w.totals),
      pid: process.pid,
      clock: '0',
      uptime: Math.round((Date.now() - w.startedAt) / 1000),
      pool: { ...w.pool.info(), implementation: `lovage.pool:${w.pool.kind}` },
      broker: { transport: w.app.broker.transport, url: w.app.broker.displayUrl },
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
  }),

  active_queues: inspectCommand((w) =>
    w.queues.map((q) => ({
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
    })),
  ),

  conf: inspectCommand((w) => {
    const c = w.app.config;
    return {
      broker_url: maskUrl(c.broker),
      result_backend: c.backend ? maskUrl(c.backend) : null,
      task_default_queue: c.defaultQueue,
      result_expires: w.settings.resultExpires !== undefined ? w.settings.resultExpires : c.resultExpires,
      worker_concurrency: w.concurrency,
      worker_prefetch_multiplier: w.prefetchMultiplier,
      worker_pool: w.pool.kind,
      // A visibility timeout means something only where a lease hands deliveries back.
      broker_transport_options: {
        ...(w.app.broker.capabilities.delivery === 'lease'
          ? { visibility_timeout: w.settings.visibilityTimeout ?? c.brokerTransportOptions.visibilityTimeout }
          : {}),
        global_keyprefix: c.brokerTransportOptions.globalKeyprefix,
      },
      lovage_settings: w.settings,
      lovage_settings_version: w.settingsSource?.version ?? null,
    };
  }),

  report: inspectCommand((w) =>
    ok(
      [
        `software -> lovage (node ${process.version}) ${os.type()} ${os.release()}`,
        `node -> ${w.hostname} pid ${process.pid}`,
        `pool -> ${w.pool.kind} x${w.concurrency}`,
        `broker -> ${w.app.broker.displayUrl}`,
        `queues -> ${w.queues.join(', ')}`,
      ].join('\n'),
    ),
  ),

  // Celery's mingle: peers exchange revoked ids. Ours live in Redis already; answer in Celery's shape.
  hello: inspectCommand((w, a) => (a.from_node === w.hostname ? null : { revoked: {}, clock: 0 })),
} satisfies Record<string, Command>;
