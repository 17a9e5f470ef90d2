/**
 * The worker core: reserves messages from the broker, decodes and checks them, holds ETA tasks and
 * rate-limited ones without blocking the rest, runs tasks in a pool, stores results, re-sends retries and
 * acknowledges. It never loses a message it cannot handle: anything malformed goes to the queue's dead
 * letters with the reason.
 *
 * Acknowledgement follows Celery: on start by default, after the result is stored with `acksLate`.
 * Messages reserved but not started, and ETA tasks held in memory, stay in the broker's in-flight list under
 * this worker's lease until they run or the worker stops (they then go back to the front of their queue).
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { App } from '../app/app';
import type { Logger } from '../app/logger';
import { serializeException } from '../backend/meta';
import { newConsumerId, type Consumer, type Delivery } from '../broker/broker';
import { addressedTo, decodeControlRequest, PIDBOX_EXCHANGE } from '../control/mailbox';
import { MalformedMessageError, NotRegistered, TaskRevokedError } from '../errors';
import { decodeTaskMessage, type TaskRequest } from '../protocol/message';
import { AsyncPool } from '../pool/async-pool';
import type { JobOutcome, Pool } from '../pool/pool';
import { parseRateLimit, TokenBucket } from '../task/rate-limit';
import type { TaskDefinition } from '../task/task';

export interface WorkerOptions {
  /** Queues to consume. Default: the app's default queue. Celery: -Q. */
  queues?: string[];
  /** Tasks run at once. Default: the CPU count (os.availableParallelism()). Celery: --concurrency. */
  concurrency?: number;
  /** Messages reserved ahead per slot. Celery: worker_prefetch_multiplier (4). */
  prefetchMultiplier?: number;
  /** Node name. Default `lovage@<host>`. Celery: --hostname. */
  hostname?: string;
  /** Where tasks run. Default: the async pool on this event loop. */
  pool?: Pool;
  logger?: Logger;
}

export interface WorkerEvents {
  'task-received': [TaskRequest];
  'task-started': [TaskRequest];
  'task-succeeded': [TaskRequest, { resultJson: string; runtime: number }];
  'task-failed': [TaskRequest, { exception: string; traceback: string | null; runtime: number }];
  'task-retried': [TaskRequest, { exception: string | null; eta: Date }];
  'task-revoked': [TaskRequest, { reason: 'revoked' | 'expired' | 'terminated' }];
  'message-dead-lettered': [{ queue: string; reason: string }];
  'lease-lost': [];
}

interface Held {
  delivery: Delivery;
  request: TaskRequest;
  def: TaskDefinition;
  timer?: NodeJS.Timeout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class Worker extends EventEmitter<WorkerEvents> {
  readonly hostname: string;
  readonly queues: string[];
  readonly concurrency: number;
  readonly prefetchMultiplier: number;
  readonly pool: Pool;
  readonly consumerId: string;
  private readonly log: Logger;
  private consumer: Consumer | null = null;
  /** Reserved, ready to run, waiting for a free slot. */
  private readonly ready: Held[] = [];
  /** ETA tasks and rate-limited tasks waiting for their time. */
  private readonly scheduled = new Set<Held>();
  private readonly active = new Map<string, Held>();
  private readonly revoked = new Set<string>();
  private readonly buckets = new Map<string, TokenBucket | null>();
  private running = false;
  private loop: Promise<void> | null = null;
  private slotFreed: (() => void) | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private revokedTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private cold = false;
  processed = 0;

  constructor(
    readonly app: App,
    options: WorkerOptions = {},
  ) {
    super();
    this.hostname = options.hostname ?? `lovage@${os.hostname()}`;
    this.queues = options.queues?.length ? options.queues : [app.config.defaultQueue];
    this.concurrency = Math.max(1, options.concurrency ?? os.availableParallelism());
    this.prefetchMultiplier = Math.max(1, options.prefetchMultiplier ?? 4);
    this.pool = options.pool ?? new AsyncPool(app.tasks);
    this.consumerId = newConsumerId(this.hostname);
    this.log = (options.logger ?? app.logger).child({ worker: this.hostname });
  }

  /** Tasks reserved, scheduled and running, for inspection. */
  get stats() {
    return {
      active: this.active.size,
      ready: this.ready.length,
      scheduled: this.scheduled.size,
      processed: this.processed,
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.app.broker.ping();
    this.running = true;
    await this.pool.start();
    for (const id of await this.app.broker.loadRevoked()) this.revoked.add(id);
    this.unsubscribe = await this.app.broker.subscribeFanout(PIDBOX_EXCHANGE, ({ message }) => {
      const req = decodeControlRequest(message);
      if (req?.method === 'revoke' && addressedTo(req, this.hostname)) this.onRevoke(req.arguments);
    });
    // Broadcasts sent while we were disconnected are lost; the stored set catches them up.
    this.revokedTimer = setInterval(() => void this.reloadRevoked(), 30_000);
    this.revokedTimer.unref();
    this.consumer = this.app.broker.consumer({
      consumerId: this.consumerId,
      queues: this.queues,
      onLeaseLost: () => this.onLeaseLost(),
    });
    this.loop = this.consume();
    this.log.info(
      {
        queues: this.queues,
        concurrency: this.concurrency,
        pool: this.pool.kind,
        broker: this.app.broker.displayUrl,
      },
      'worker ready',
    );
  }

  private async reloadRevoked(): Promise<void> {
    try {
      for (const id of await this.app.broker.loadRevoked()) this.revoked.add(id);
    } catch {
      // Redis away; the next tick tries again.
    }
  }

  private onRevoke(args: Record<string, unknown>): void {
    const raw = args.task_id;
    const ids = (Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string');
    for (const id of ids) {
      this.revoked.add(id);
      if (args.terminate === true && this.active.has(id)) this.pool.terminate(id);
    }
  }

  private onLeaseLost(): void {
    this.log.warn(
      'lease lapsed (the process stalled longer than visibilityTimeout): reserved tasks went back to the queue',
    );
    for (const h of this.scheduled) clearTimeout(h.timer);
    this.scheduled.clear();
    this.ready.length = 0;
    this.emit('lease-lost');
  }

  private get prefetch(): number {
    return this.concurrency * this.prefetchMultiplier;
  }

  private async consume(): Promise<void> {
    let failures = 0;
    while (this.running && this.consumer) {
      const capacity = this.prefetch - this.ready.length - this.active.size;
      if (capacity <= 0) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.consumer.reserve(capacity);
        if (failures > 0) this.log.info('broker connection restored, consuming again');
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1) this.log.warn({ err: (err as Error).message }, 'broker unavailable; retrying');
        await sleep(Math.min(2000, 100 * 2 ** failures));
        continue;
      }
      for (const d of deliveries) await this.receive(d);
      this.pump();
    }
  }

  private async deadLetter(d: Delivery, reason: string): Promise<void> {
    this.log.error({ queue: d.queue, reason }, 'message rejected to dead letters');
    await this.consumer!.deadLetter(d, reason);
    this.emit('message-dead-lettered', { queue: d.queue, reason });
  }

  private async receive(d: Delivery): Promise<void> {
    try {
      if (!d.message) return await this.deadLetter(d, d.envelopeError ?? 'unreadable envelope');
      let request: TaskRequest;
      try {
        request = decodeTaskMessage(d.message);
      } catch (err) {
        if (err instanceof MalformedMessageError) return await this.deadLetter(d, err.message);
        throw err;
      }
      const def = this.app.tasks.get(request.name);
      if (!def) {
        this.log.error(
          { task: request.name, id: request.id },
          `received unregistered task of type '${request.name}'`,
        );
        await this.storeException(request, 'FAILURE', new NotRegistered(request.name), null);
        return await this.deadLetter(d, `unregistered task ${JSON.stringify(request.name)}`);
      }
      const held: Held = { delivery: d, request, def };
      this.emit('task-received', request);
      if (this.discardIfRevoked(held)) return;
      if (request.eta && request.eta.getTime() > Date.now())
        return this.schedule(held, request.eta.getTime() - Date.now());
      this.ready.push(held);
    } catch (err) {
      // Redis failed mid-way: the message is still in our in-flight list and returns to the queue.
      this.log.error({ err: (err as Error).message }, 'could not handle a message; it stays in flight');
    }
  }

  /** Revoked or expired tasks are not run: REVOKED is stored and the message acknowledged. */
  private discardIfRevoked(h: Held): boolean {
    const { request } = h;
    const reason = this.revoked.has(request.id)
      ? 'revoked'
      : request.expires && request.expires.getTime() <= Date.now()
        ? 'expired'
        : null;
    if (!reason) return false;
    void this.finishRevoked(h, reason);
    return true;
  }

  private async finishRevoked(h: Held, reason: 'revoked' | 'expired' | 'terminated'): Promise<void> {
    this.log.info({ id: h.request.id, task: h.request.name, reason }, 'task discarded');
    try {
      await this.storeException(h.request, 'REVOKED', new TaskRevokedError(reason), null, h.def);
      await this.consumer!.ack(h.delivery);
    } catch (err) {
      this.log.error({ err: (err as Error).message, id: h.request.id }, 'could not record a revoked task');
    }
    this.emit('task-revoked', h.request, { reason });
  }

  private schedule(h: Held, delayMs: number): void {
    this.scheduled.add(h);
    h.timer = setTimeout(() => {
      this.scheduled.delete(h);
      if (!this.running) return;
      if (this.discardIfRevoked(h)) return;
      this.ready.unshift(h);
      this.pump();
    }, delayMs);
  }

  private bucket(def: TaskDefinition): TokenBucket | null {
    let b = this.buckets.get(def.name);
    if (b === undefined) {
      const rate = parseRateLimit(def.options.rateLimit);
      b = rate === null ? null : new TokenBucket(rate);
      this.buckets.set(def.name, b);
    }
    return b;
  }

  /** Starts ready tasks while slots are free. */
  private pump(): void {
    while (this.running && this.active.size < this.concurrency && this.ready.length > 0) {
      const h = this.ready.shift()!;
      const wait = this.bucket(h.def)?.take() ?? 0;
      if (wait > 0) {
        this.schedule(h, wait);
        continue;
      }
      void this.run(h);
    }
  }

  private async run(h: Held): Promise<void> {
    const { request, def, delivery } = h;
    this.active.set(request.id, h);
    try {
      if (!def.options.acksLate) await this.consumer!.ack(delivery);
      if (this.revoked.has(request.id)) {
        await this.finishRevoked(h, 'revoked');
        return;
      }
      this.emit('task-started', request);
      if (def.options.trackStarted && !this.ignoresResult(h)) {
        await this.app.backend?.store(
          request.id,
          'STARTED',
          JSON.stringify({ pid: process.pid, hostname: this.hostname }),
        );
      }
      const [hard, soft] = request.timeLimit;
      const outcome = await this.pool.execute({
        request,
        timeLimit: hard ?? def.options.timeLimit,
        softTimeLimit: soft ?? def.options.softTimeLimit,
        hostname: this.hostname,
      });
      if (this.active.get(request.id) !== h) return; // abandoned by a cold stop
      await this.finish(h, outcome);
      if (def.options.acksLate) await this.consumer!.ack(delivery);
      this.processed++;
    } catch (err) {
      // The result or ack could not be written (Redis away). With acksLate the message is still in flight
      // and will run again; without, the task ran and only its bookkeeping is lost.
      this.log.error(
        { err: (err as Error).message, id: request.id },
        'could not record the outcome of a task',
      );
    } finally {
      if (this.active.get(request.id) === h) this.active.delete(request.id);
      this.slotFreed?.();
      this.slotFreed = null;
      this.pump();
    }
  }

  private ignoresResult(h: Held): boolean {
    return h.def.options.ignoreResult || h.request.ignoreResult;
  }

  private async storeException(
    request: TaskRequest,
    status: string,
    err: unknown,
    traceback: string | null,
    def?: TaskDefinition,
  ): Promise<void> {
    if (!this.app.backend) return;
    if (def && (def.options.ignoreResult || request.ignoreResult)) return;
    await this.app.backend.store(request.id, status, JSON.stringify(serializeException(err)), {
      traceback,
      parentId: request.parentId,
      groupId: request.group,
    });
  }

  private async finish(h: Held, outcome: JobOutcome): Promise<void> {
    const { request } = h;
    const backend = this.ignoresResult(h) ? null : this.app.backend;
    const opts = { parentId: request.parentId, groupId: request.group };
    switch (outcome.kind) {
      case 'success':
        await backend?.store(request.id, 'SUCCESS', outcome.resultJson, opts);
        this.emit('task-succeeded', request, outcome);
        return;
      case 'failure': {
        if (outcome.exc.exc_type === 'TaskRevokedError') {
          await backend?.store(request.id, 'REVOKED', JSON.stringify(outcome.exc), opts);
          this.emit('task-revoked', request, { reason: 'terminated' });
          return;
        }
        await backend?.store(request.id, 'FAILURE', JSON.stringify(outcome.exc), {
          ...opts,
          traceback: outcome.traceback,
        });
        const exception = `${outcome.exc.exc_type}(${outcome.exc.exc_message.map((m) => JSON.stringify(m)).join(', ')})`;
        this.log.warn({ id: request.id, task: request.name, exception }, 'task failed');
        this.emit('task-failed', request, {
          exception,
          traceback: outcome.traceback,
          runtime: outcome.runtime,
        });
        return;
      }
      case 'retry': {
        const eta = new Date(outcome.eta);
        // Re-send first: if we die between the two steps the task may run twice, never zero times.
        await this.app.sendTask(request.name, request.args, request.kwargs, {
          taskId: request.id,
          eta,
          expires: request.expires,
          queue: h.delivery.queue,
          priority: request.priority,
          retries: request.retries + 1,
          parentId: request.id,
          rootId: request.rootId,
          embed: request.embed,
          ignoreResult: request.ignoreResult,
          timeLimit: request.timeLimit[0],
          softTimeLimit: request.timeLimit[1],
        });
        const exc = outcome.exc ?? {
          exc_type: 'Retry',
          exc_message: [`Retry at ${eta.toISOString()}`],
          exc_module: 'celery.exceptions',
        };
        await backend?.store(request.id, 'RETRY', JSON.stringify(exc), {
          ...opts,
          traceback: outcome.traceback,
          children: [[[request.id, null], null]],
        });
        this.emit('task-retried', request, { exception: outcome.exc ? outcome.exc.exc_type : null, eta });
        return;
      }
    }
  }

  /**
   * Stops the worker. Warm (default): stop consuming, finish running tasks, return reserved and ETA tasks to
   * the front of their queues. Cold: return everything not acknowledged at once, including running
   * `acksLate` tasks (they run again elsewhere), without waiting.
   */
  async stop(options: { cold?: boolean } = {}): Promise<void> {
    // A cold stop may follow a warm one that is still waiting (a second Ctrl-C): it escalates it.
    if (options.cold && !this.cold) {
      this.cold = true;
      this.abandonActive();
    }
    if (this.stopping) return this.stopping;
    if (!this.running) return;
    this.stopping = this.shutdown();
    return this.stopping;
  }

  private abandonActive(): void {
    for (const id of this.active.keys()) this.pool.terminate(id);
    this.active.clear();
    this.slotFreed?.();
    this.slotFreed = null;
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    for (const h of this.scheduled) clearTimeout(h.timer);
    this.scheduled.clear();
    this.ready.length = 0;
    if (this.revokedTimer) clearInterval(this.revokedTimer);
    this.slotFreed?.();
    const consumer = this.consumer!;
    while (this.active.size > 0) {
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
      });
    }
    await consumer.close();
    await this.loop;
    await this.unsubscribe?.();
    await this.pool.stop();
    this.consumer = null;
    this.log.info({ processed: this.processed, cold: this.cold }, 'worker stopped');
  }
}
