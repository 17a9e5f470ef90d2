/**
 * The remote-control client (Celery's `app.control` and `app.control.inspect()`): broadcasts a command on
 * the pidbox and collects the replies of Lovage and Celery workers alike.
 *
 * Each call uses its own reply queue (bound as `<oid>.reply.celery.pidbox`), so concurrent calls from one
 * process (the console serving several operators) never take each other's replies. Replies are collected
 * until `timeout` passes or, with a `destination`, until every named worker answered.
 */
import { randomUUID } from 'node:crypto';
import type { Broker } from '../broker/broker';
import { ControlError } from '../errors';
import { decodeControlReply, encodeControlRequest, PIDBOX_EXCHANGE, REPLY_EXCHANGE } from './mailbox';

export interface BroadcastOptions {
  /** Hostnames to address; all workers when absent. Celery: destination. */
  destination?: string[];
  /** Glob (or pcre with `matcher`) over hostnames, instead of a destination list. */
  pattern?: string;
  matcher?: 'glob' | 'pcre';
  /** Seconds to wait for replies (1). */
  timeout?: number;
  /** Wait for replies (true); false sends and returns at once. */
  reply?: boolean;
  /** Stop after this many replies. */
  limit?: number;
}

/** One reply per worker, Celery's shape: `[{"w1@host": payload}, …]`. */
export type Replies = Array<Record<string, unknown>>;

export const INSPECT_METHODS = [
  'active',
  'reserved',
  'scheduled',
  'stats',
  'registered',
  'revoked',
  'active_queues',
  'conf',
  'ping',
  'query_task',
  'report',
] as const;
export type InspectMethod = (typeof INSPECT_METHODS)[number];

const INSPECT_ARGS: Partial<Record<InspectMethod, Record<string, unknown>>> = {
  active: { safe: null },
  registered: { taskinfoitems: [] },
  conf: { with_defaults: false },
};

export class Control {
  constructor(private readonly broker: Broker) {}

  /** Sends `method` to the workers and returns their replies. */
  async broadcast(
    method: string,
    args: Record<string, unknown> = {},
    options: BroadcastOptions = {},
  ): Promise<Replies> {
    const timeout = options.timeout ?? 1;
    if (!(timeout > 0)) throw new ControlError('timeout must be a positive number of seconds');
    const wantReply = options.reply ?? true;
    const encode = (replyTo: string | null) =>
      encodeControlRequest(method, args, {
        destination: options.destination ?? null,
        pattern: options.pattern ?? null,
        matcher: options.matcher ?? null,
        replyTo,
        timeoutSeconds: timeout,
        ticket,
      });
    const ticket = randomUUID();
    if (!wantReply) {
      await this.publish(encode(null), method);
      return [];
    }
    const oid = randomUUID();
    const queue = await this.broker.replyQueue(REPLY_EXCHANGE, oid);
    try {
      await this.publish(encode(oid), method);
      const limit = options.limit ?? options.destination?.length ?? Infinity;
      const deadline = Date.now() + timeout * 1000;
      const replies: Replies = [];
      while (replies.length < limit) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const msg = await queue.take(left);
        if (!msg) break;
        const reply = decodeControlReply(msg, ticket);
        if (reply) replies.push(reply);
      }
      return replies;
    } finally {
      await queue.close().catch(() => undefined);
    }
  }

  private async publish(message: ReturnType<typeof encodeControlRequest>, method: string): Promise<void> {
    try {
      await this.broker.broadcast(PIDBOX_EXCHANGE, '', message);
    } catch (err) {
      throw new ControlError(`could not send the control command ${method}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Replies of every worker merged by hostname (Celery's `inspect()` result). */
  async inspect(
    method: InspectMethod,
    options: BroadcastOptions & { args?: Record<string, unknown> } = {},
  ): Promise<Record<string, unknown>> {
    const { args, ...opts } = options;
    const replies = await this.broadcast(method, { ...INSPECT_ARGS[method], ...args }, opts);
    return Object.assign({}, ...replies) as Record<string, unknown>;
  }

  ping(options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('ping', {}, options);
  }

  revoke(
    taskId: string | string[],
    options: BroadcastOptions & { terminate?: boolean; signal?: string } = {},
  ): Promise<Replies> {
    const { terminate, signal, ...opts } = options;
    return this.broadcast(
      'revoke',
      { task_id: taskId, terminate: terminate ?? false, signal: signal ?? 'SIGTERM' },
      opts,
    );
  }

  rateLimit(taskName: string, rateLimit: string | null, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('rate_limit', { task_name: taskName, rate_limit: rateLimit }, options);
  }

  timeLimit(
    taskName: string,
    limits: { hard?: number | null; soft?: number | null },
    options: BroadcastOptions = {},
  ): Promise<Replies> {
    return this.broadcast(
      'time_limit',
      { task_name: taskName, hard: limits.hard ?? null, soft: limits.soft ?? null },
      options,
    );
  }

  poolGrow(n = 1, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('pool_grow', { n }, options);
  }

  poolShrink(n = 1, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('pool_shrink', { n }, options);
  }

  addConsumer(queue: string, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast(
      'add_consumer',
      { queue, exchange: null, exchange_type: 'direct', routing_key: null },
      options,
    );
  }

  cancelConsumer(queue: string, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('cancel_consumer', { queue }, options);
  }

  /** Lovage workers reload the stored settings (`SettingsStore`) and say what they applied. */
  applySettings(version: number, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('apply_settings', { version }, options);
  }

  /** Workers stop (warm shutdown). Celery never replies to `shutdown`; Lovage does not either. */
  shutdown(options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('shutdown', {}, { ...options, reply: false });
  }
}
