/**
 * What happens to each message as it arrives (Celery's worker strategy): unreadable, malformed or naming an
 * unknown task, or delivered too often (a quorum queue's delivery count at the `deliveryLimit`), it goes to
 * its queue's dead letters with the reason (the worker never loses a message it cannot handle); revoked or
 * expired, it is discarded as REVOKED; with a future ETA it is held on a timer, or, further away than the
 * broker lets a delivery be held (RabbitMQ's consumer timeout), parked on the broker until nearer its ETA;
 * otherwise it waits for a free slot, where the task's rate limit may hold it on a timer again.
 */
import type { Consumer, Delivery } from '../broker/broker';
import { MalformedMessageError } from '../errors';
import { deadLetterDelivery } from '../state/dead-letters';
import { decodeTaskMessage, type TaskRequest } from '../protocol/message';
import { argsRepr, kwargsRepr } from '../protocol/repr';
import { parseRateLimit, TokenBucket } from '../task/rate-limit';
import type { TaskDefinition } from '../task/task';
import type { Outcomes } from './outcome';
import type { Held, RevokeReason, WorkerControl } from './types';

type Holding = Pick<
  WorkerControl,
  | 'app'
  | 'log'
  | 'events'
  | 'emit'
  | 'concurrency'
  | 'ready'
  | 'scheduled'
  | 'active'
  | 'revoked'
  | 'taskLimits'
>;

export interface StrategyDeps {
  outcomes: Outcomes;
  consumer(): Consumer;
  /** Names the consumer in the dead letters it makes. */
  consumerId: string;
  /** False once the worker stops: nothing more is started. */
  running(): boolean;
  run(h: Held): void;
  discard(h: Held, reason: RevokeReason): void;
}

export class MessageStrategy {
  /** Rate limits per task name; null: unlimited. Built on first use, dropped when the limit changes. */
  private readonly buckets = new Map<string, TokenBucket | null>();
  /**
   * Tasks this worker parked on the broker until nearer their ETA, by id, until they come back (or a minute
   * past their ETA, when another worker took them): a revoke meanwhile stores REVOKED at once, as for a task
   * held here. Their messages are acknowledged; the returning one is discarded by the revoked ids.
   */
  private readonly parked = new Map<string, Held>();

  constructor(
    private readonly w: Holding,
    private readonly deps: StrategyDeps,
  ) {}

  async receive(d: Delivery): Promise<void> {
    const { w } = this;
    // A task parked on the broker has come back (only AMQP parks; the map is empty elsewhere).
    if (this.parked.size > 0) {
      const back = d.message?.headers?.id;
      if (typeof back === 'string') this.forgetParked(back);
    }
    try {
      if (!d.message) return await this.deadLetter(d, d.envelopeError ?? 'unreadable envelope');
      let request: TaskRequest;
      try {
        request = decodeTaskMessage(d.message);
      } catch (err) {
        if (err instanceof MalformedMessageError) return await this.deadLetter(d, err.message);
        throw err;
      }
      const def = w.app.tasks.get(request.name);
      if (!def) {
        w.log.error(
          { task: request.name, id: request.id },
          `received unregistered task of type '${request.name}'`,
        );
        await this.deps.outcomes.notRegistered(request);
        return await this.deadLetter(d, `unregistered task ${JSON.stringify(request.name)}`, request);
      }
      const limit = w.app.config.brokerTransportOptions.deliveryLimit;
      if (limit !== null && request.deliveryCount !== null && request.deliveryCount >= limit) {
        const reason = `delivery limit reached (${request.deliveryCount} deliveries)`;
        await this.deps.outcomes.poisoned(request, reason);
        return await this.deadLetter(d, reason, request);
      }
      const held: Held = { delivery: d, request, def, acknowledged: false, receivedAt: Date.now() };
      w.emit('task-received', request, held);
      w.events?.task('task-received', {
        uuid: request.id,
        name: request.name,
        args: request.argsrepr || argsRepr(request.args),
        kwargs: request.kwargsrepr || kwargsRepr(request.kwargs),
        root_id: request.rootId,
        parent_id: request.parentId,
        retries: request.retries,
        eta: request.eta?.toISOString() ?? null,
        expires: request.expires?.toISOString() ?? null,
        // Not in Celery's event: the queue, the group (left out when none), and the arguments as JSON so the
        // console can retry the task.
        queue: d.queue,
        group: request.group ?? undefined,
        args_json: safeJson(request.args),
        kwargs_json: safeJson(request.kwargs),
      });
      if (this.discardIfRevoked(held)) return;
      if (request.eta && request.eta.getTime() > Date.now()) {
        // Only a far ETA waits for the broker: a near one is held at once (a revoke finds it held).
        if (this.beyondHold(request.eta) && (await this.defer(held, request.eta))) return;
        return this.schedule(held, request.eta.getTime() - Date.now());
      }
      w.ready.push(held);
    } catch (err) {
      // Redis failed mid-way: the message is still in our in-flight list and returns to the queue.
      w.log.error({ err: (err as Error).message }, 'could not handle a message; it stays in flight');
    }
  }

  /** Starts ready tasks while slots are free; a rate-limited one waits on a timer for its token. */
  dispatch(): void {
    const { w } = this;
    while (this.deps.running() && w.active.size < w.concurrency && w.ready.length > 0) {
      const h = w.ready.shift()!;
      const wait = this.bucket(h.def)?.take() ?? 0;
      if (wait > 0) {
        this.schedule(h, wait);
        continue;
      }
      this.deps.run(h);
    }
  }

  /** The task's rate limit changed: its bucket is rebuilt on next use. */
  rateLimitChanged(name: string): void {
    this.buckets.delete(name);
  }

  /**
   * Discards the held tasks among `ids` now (waiting for their ETA, a rate-limit token or a free slot)
   * rather than when their time comes, so their REVOKED state shows at once.
   */
  discardHeld(ids: ReadonlySet<string>): void {
    const { w } = this;
    for (const id of ids) {
      const h = this.parked.get(id);
      if (!h) continue;
      this.forgetParked(id);
      this.deps.discard(h, 'revoked');
    }
    for (const h of [...w.scheduled]) {
      if (!ids.has(h.request.id)) continue;
      clearTimeout(h.timer);
      w.scheduled.delete(h);
      this.deps.discard(h, 'revoked');
    }
    for (let i = w.ready.length - 1; i >= 0; i--) {
      const h = w.ready[i]!;
      if (!ids.has(h.request.id)) continue;
      w.ready.splice(i, 1);
      this.deps.discard(h, 'revoked');
    }
  }

  private forgetParked(id: string): void {
    const h = this.parked.get(id);
    if (!h) return;
    clearTimeout(h.timer);
    this.parked.delete(id);
  }

  /** Forgets every task held and not started (a lapsed lease, a stop): their messages go back to the queue. */
  dropHeld(): void {
    for (const h of this.w.scheduled) clearTimeout(h.timer);
    this.w.scheduled.clear();
    this.w.ready.length = 0;
  }

  private async deadLetter(d: Delivery, reason: string, request?: TaskRequest): Promise<void> {
    const { w } = this;
    w.log.error({ queue: d.queue, reason }, 'message rejected to dead letters');
    // One atomic step when the state store shares the broker's Redis, else put-then-ack.
    const { broker, state } = w.app;
    const letterId = await deadLetterDelivery(
      broker,
      state,
      this.deps.consumer(),
      this.deps.consumerId,
      d,
      reason,
    );
    w.emit('message-dead-lettered', { queue: d.queue, reason });
    const header = d.message?.headers?.id;
    const uuid = request?.id ?? (typeof header === 'string' ? header : null);
    if (uuid === null || letterId === null) return;
    // Celery's task-rejected (requeue false), plus where the message went, so monitors show its fate.
    w.events?.task('task-rejected', {
      uuid,
      requeue: false,
      name: request?.name,
      queue: d.queue,
      reason,
      dead_letter_queue: d.queue,
      dead_letter_id: letterId,
    });
  }

  /**
   * How long a delivery may be held here: half the broker's `maxHoldSeconds`, so the run and a wait for a
   * slot fit in the rest; null when the broker holds it as long as the consumer lives.
   */
  private horizonMs(): number | null {
    const maxHold = this.w.app.broker.capabilities.maxHoldSeconds;
    return maxHold === null ? null : (maxHold * 1000) / 2;
  }

  private beyondHold(eta: Date): boolean {
    const horizon = this.horizonMs();
    return horizon !== null && eta.getTime() - Date.now() > horizon;
  }

  /**
   * Parks an ETA beyond the hold horizon on the broker until about a second before it; it is held as any
   * other when it comes back (its `eta` header kept). True when it was handed back; false to hold it (the
   * park failed: holding is the lesser harm).
   */
  private async defer(h: Held, eta: Date): Promise<boolean> {
    const consumer = this.deps.consumer();
    const horizon = this.horizonMs();
    if (horizon === null || !consumer.defer) return false;
    // Back a little early (never after the ETA: the ladder rounds up to the second), held the rest.
    const notBefore = new Date(eta.getTime() - Math.min(1000, horizon / 2));
    // Known as parked from the start: a revoke that arrives while the park is under way finds it.
    const parked: Held = { ...h, acknowledged: true };
    parked.timer = setTimeout(() => this.parked.delete(h.request.id), eta.getTime() - Date.now() + 60_000);
    parked.timer.unref();
    this.parked.set(h.request.id, parked);
    try {
      if (!(await consumer.defer(h.delivery, notBefore))) {
        this.w.log.warn({ id: h.request.id }, 'not deferred: the broker took the task back');
        this.forgetParked(h.request.id);
      }
      return true;
    } catch (err) {
      this.w.log.error(
        { err: (err as Error).message, id: h.request.id },
        'could not park an ETA task on the broker; holding it',
      );
      this.forgetParked(h.request.id);
      return false;
    }
  }

  /** Revoked or expired tasks are not run: REVOKED is stored and the message acknowledged. */
  private discardIfRevoked(h: Held): boolean {
    const { request } = h;
    const reason = this.w.revoked.has(request.id)
      ? 'revoked'
      : request.expires && request.expires.getTime() <= Date.now()
        ? 'expired'
        : null;
    if (!reason) return false;
    this.deps.discard(h, reason);
    return true;
  }

  private schedule(h: Held, delayMs: number): void {
    this.w.scheduled.add(h);
    h.timer = setTimeout(() => {
      this.w.scheduled.delete(h);
      if (!this.deps.running()) return;
      if (this.discardIfRevoked(h)) return;
      this.w.ready.unshift(h);
      this.dispatch();
    }, delayMs);
  }

  private bucket(def: TaskDefinition): TokenBucket | null {
    let b = this.buckets.get(def.name);
    if (b === undefined) {
      const override = this.w.taskLimits.get(def.name);
      const rate = parseRateLimit(
        override && override.rateLimit !== undefined ? override.rateLimit : def.options.rateLimit,
      );
      b = rate === null ? null : new TokenBucket(rate);
      this.buckets.set(def.name, b);
    }
    return b;
  }
}

function safeJson(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}
