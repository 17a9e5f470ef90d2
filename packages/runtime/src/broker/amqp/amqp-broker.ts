/**
 * The RabbitMQ broker over amqplib, on Celery's topology (topology.ts) and wire format: protocol v2 properties
 * and headers, the raw JSON body, tasks published to the default exchange with the queue's name as routing key.
 *
 * Stronger than Celery's defaults: every task publish is confirmed (`publish` resolves on RabbitMQ's ack) and
 * `mandatory` (an unroutable message is an error, not a silent drop), within a bounded window of publishes in
 * flight; a blocked connection (memory or disk alarm) fails a publish with a clear error after
 * `publishTimeout` instead of hanging; consumers acknowledge manually with per-consumer prefetch (quorum queues
 * refuse channel-wide QoS) that the worker raises for the tasks it holds; a delivery from before a reconnect is
 * never acknowledged on the new channel (RabbitMQ has put it back already), and the worker hears of it
 * (`onDeliveriesLost`). Connections recover by themselves (amqplib's recovery, backoff with jitter), and
 * consumers and subscriptions declare and consume again on each new connection.
 *
 * Publishing and consuming use separate connections, as RabbitMQ advises: a publisher blocked by an alarm
 * never stops the acks that would relieve it.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message, Options } from 'amqplib';
import { BrokerError, PublishError } from '../../errors';
import type { Exchange } from '../../protocol/exchanges';
import { republishable, type InboundMessage, type OutgoingMessage } from '../../protocol/message';
import {
  maskUrl,
  type Broker,
  type BrokerCapabilities,
  type Consumer,
  type ConsumerOptions,
  type Delivery,
  type FanoutMessage,
  type QueueStats,
  type ReplyQueue,
} from '../broker';
import { undecodableHeaders } from './amqplib-patch';
import {
  bindTaskQueue,
  declareLadder,
  DELAYED_ENTRY_LEVEL,
  delayedRoutingKey,
  levelName,
  withoutBrokerHeaders,
} from './delayed-delivery';
import { encodeHeaders } from './headers';
import { AmqpLink } from './link';
import {
  exchangeDeclaration,
  privateQueueDeclaration,
  taskQueueDeclaration,
  type QueueOptions,
} from './topology';

export interface AmqpBrokerOptions extends Partial<QueueOptions> {
  /**
   * Put before the name of every queue and exchange Lovage declares (the `globalKeyprefix` option, kombu's
   * Redis `global_keyprefix`), so that several apps share a vhost without hearing each other's remote control
   * and events. Celery has no such option on AMQP: leave it empty in a fleet shared with Celery.
   */
  prefix?: string;
  /** Heartbeat seconds on every connection (60). */
  heartbeat?: number;
  /** Seconds a publish may wait for RabbitMQ's confirm, or for an alarm to clear, before it fails (30). */
  publishTimeout?: number;
  /** Publishes in flight (sent, not yet confirmed) at most; more wait their turn (1000). */
  publishWindow?: number;
  /** RabbitMQ's `consumer_timeout` in seconds (1800, its default): the longest a delivery may be held. */
  consumerTimeout?: number;
}

/** The AMQP properties a message arrived with, under kombu's names, with `delivery_info` as given. */
function propertiesOf(msg: Message, deliveryInfo: Record<string, unknown>): Record<string, unknown> {
  const p = msg.properties;
  const properties: Record<string, unknown> = {
    correlation_id: p.correlationId,
    reply_to: p.replyTo,
    priority: p.priority,
    delivery_mode: p.deliveryMode,
    expiration: p.expiration,
    delivery_tag: msg.fields.deliveryTag,
    delivery_info: deliveryInfo,
  };
  for (const k of Object.keys(properties)) if (properties[k] === undefined) delete properties[k];
  return properties;
}

/** The message as received, in the kombu-like shape dead letters and the console read (body not base64). */
function rawOf(msg: Message, headers: Record<string, unknown> | undefined): string {
  const p = msg.properties;
  // A body that is not UTF-8 (a pickle from a misconfigured client) is kept byte for byte, in base64 as kombu's
  // envelope does, rather than with replacement characters.
  const text = msg.content.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(msg.content);
  const properties = propertiesOf(msg, { exchange: msg.fields.exchange, routing_key: msg.fields.routingKey });
  if (!exact) properties.body_encoding = 'base64';
  return JSON.stringify({
    body: exact ? text : msg.content.toString('base64'),
    'content-encoding': p.contentEncoding ?? null,
    'content-type': p.contentType ?? null,
    headers: headers ?? {},
    properties,
  });
}

/**
 * An amqplib message as the protocol layer reads it; null message when its headers could not be read.
 * `countsDeliveries` (a quorum queue's delivery): `delivery_info.delivery_count` is RabbitMQ's
 * `x-delivery-count`, the earlier deliveries that ended without an ack (absent on the first: 0); elsewhere null.
 */
function toInbound(
  msg: Message,
  countsDeliveries = false,
): {
  message: InboundMessage | null;
  error: string | null;
  headers: Record<string, unknown> | undefined;
} {
  const p = msg.properties;
  const bad = undecodableHeaders(p);
  const headers = bad ? undefined : ((p.headers ?? undefined) as Record<string, unknown> | undefined);
  if (bad) return { message: null, error: bad.reason, headers };
  const properties = propertiesOf(msg, {
    exchange: msg.fields.exchange,
    routing_key: msg.fields.routingKey,
    redelivered: msg.fields.redelivered,
    delivery_count: countsDeliveries ? deliveryCount(headers) : null,
  });
  return {
    message: {
      headers,
      properties,
      body: msg.content.toString('utf8'),
      contentType: p.contentType || undefined,
    },
    error: null,
    headers,
  };
}

function deliveryCount(headers: Record<string, unknown> | undefined): number {
  const n = headers?.['x-delivery-count'];
  return typeof n === 'number' && Number.isFinite(n) ? n : typeof n === 'string' ? Number(n) || 0 : 0;
}

function publishOptions(message: OutgoingMessage, mandatory: boolean): Options.Publish {
  const p = message.properties;
  return {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: encodeHeaders(message.headers),
    correlationId: p.correlation_id,
    ...(p.reply_to ? { replyTo: p.reply_to } : {}),
    // Always explicit, so Lovage's messages sort as Celery's do (rabbitmq-notes §1.5).
    priority: p.priority,
    deliveryMode: p.delivery_mode,
    // No AMQP `expiration`, which Celery 5.2+ sets: RabbitMQ would drop an expired task at the queue's head and
    // its state would stay PENDING for ever. The worker reads the `expires` header and stores REVOKED instead.
    mandatory,
  };
}

/** RabbitMQ's channel-closing reply (`PRECONDITION_FAILED - inequivalent arg …`) or the error's message. */
function amqpReason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `work`, or a BrokerError once `deadline` passes. Opening a channel or declaring waits on RabbitMQ's answer,
 * which a node that stopped answering never sends (until a heartbeat, up to twice its interval later, finds the
 * connection dead); what `work` waits on goes on and serves the next call.
 */
function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BrokerError(`no answer from RabbitMQ by the publish deadline while ${what}`)),
      Math.max(1, deadline - Date.now()),
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
  returned: string | null;
}

export class AmqpBroker implements Broker {
  readonly transport = 'amqp' as const;
  readonly capabilities: BrokerCapabilities;
  readonly displayUrl: string;
  readonly queueOptions: QueueOptions;
  readonly publishTimeoutMs: number;
  private readonly window: number;
  /** Publishing: tasks (confirmed), broadcasts and replies. */
  readonly pub: AmqpLink;
  /** Consuming: task consumers, subscriptions, reply queues. */
  readonly sub: AmqpLink;
  private confirm: { ch: ConfirmChannel; generation: number } | null = null;
  private opening: Promise<ConfirmChannel> | null = null;
  /** Queues declared on the current publishing connection (generation-tagged). */
  private declared = new Map<string, number>();
  /** The delayed-delivery ladder's generation, and the queues bound to its end (generation-tagged). */
  private ladder = -1;
  private readonly delayedBound = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private inFlight = 0;
  private readonly windowWaiters: (() => void)[] = [];
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly subscriptions = new Set<{ stop(): Promise<void> }>();
  readonly prefix: string;

  constructor(
    readonly url: string,
    options: AmqpBrokerOptions = {},
  ) {
    this.displayUrl = maskUrl(url);
    this.prefix = options.prefix ?? '';
    this.queueOptions = {
      queueType: options.queueType ?? 'classic',
      maxPriority: options.maxPriority ?? null,
    };
    this.publishTimeoutMs = Math.round((options.publishTimeout ?? 30) * 1000);
    this.window = options.publishWindow ?? 1000;
    const heartbeat = options.heartbeat ?? 60;
    this.pub = new AmqpLink(url, this.displayUrl, 'lovage:publisher', heartbeat);
    this.sub = new AmqpLink(url, this.displayUrl, 'lovage:consumer', heartbeat);
    this.capabilities = {
      redeliversUnacked: true,
      delivery: 'channel',
      priorityOrder: 'high-first',
      maxHoldSeconds: options.consumerTimeout ?? 1800,
      atomicDeadLetter: false,
    };
    // A new publishing connection: declare again, and fail what the old one left unconfirmed.
    this.pub.onDisconnect((err) => this.failPending(err));
  }

  async ping(timeoutMs = 5000): Promise<void> {
    await this.pub.ready(timeoutMs);
  }

  private failPending(err: Error): void {
    for (const [, p] of this.pending) p.reject(err);
    this.pending.clear();
  }

  /** The confirm channel of the current publishing connection, opened on first use. */
  private async confirmChannel(): Promise<ConfirmChannel> {
    const conn = await this.pub.ready(this.publishTimeoutMs);
    if (this.confirm && this.confirm.generation === this.pub.generation) return this.confirm.ch;
    this.opening ??= (async () => {
      try {
        const generation = this.pub.generation;
        const ch = await conn.createConfirmChannel();
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (this.confirm?.ch === ch) this.confirm = null;
        });
        // `mandatory`: RabbitMQ returns what no queue took, before its ack.
        ch.on('return', (msg: ConsumeMessage) => {
          const id = msg.properties.messageId as string | undefined;
          const p = id ? this.pending.get(id) : undefined;
          if (p) p.returned = `no queue is bound for routing key ${JSON.stringify(msg.fields.routingKey)}`;
        });
        this.confirm = { ch, generation };
        return ch;
      } finally {
        this.opening = null;
      }
    })();
    return this.opening;
  }

  /**
   * Declares a task queue as Celery does, once per connection. A queue that exists with other arguments (a 406
   * that closes the declaring channel) is used as it is, checked passively, with a warning that says which
   * argument differs; a throwaway channel takes the 406, never the publishing one.
   */
  async declareQueue(conn: ChannelModel, generation: number, name: string): Promise<void> {
    if (this.declared.get(name) === generation) return;
    // Concurrent first publishes to one queue (a bulk send) share one declaration.
    const key = `${generation}:${name}`;
    let pending = this.declaring.get(key);
    if (!pending) {
      pending = this.declareNow(conn, generation, name).finally(() => this.declaring.delete(key));
      this.declaring.set(key, pending);
    }
    return pending;
  }

  private readonly declaring = new Map<string, Promise<void>>();

  private async declareNow(conn: ChannelModel, generation: number, name: string): Promise<void> {
    const queue = this.prefix + name;
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.assertExchange(queue, 'direct', { durable: true, autoDelete: false });
      await ch.assertQueue(queue, taskQueueDeclaration(this.queueOptions));
      await ch.bindQueue(queue, queue, queue);
      await ch.close().catch(() => undefined);
    } catch (err) {
      const reason = amqpReason(err);
      if (!/PRECONDITION_FAILED/.test(reason)) throw err;
      const check = await conn.createChannel();
      check.on('error', () => undefined);
      await check.checkQueue(queue);
      await check.close().catch(() => undefined);
      process.emitWarning(
        `queue ${queue} exists on ${this.displayUrl} with other arguments than Lovage declares; using it as ` +
          `it is (${reason})`,
      );
    }
    this.declared.set(name, generation);
  }

  private async takeWindowSlot(): Promise<void> {
    while (this.inFlight >= this.window) await new Promise<void>((r) => this.windowWaiters.push(r));
    this.inFlight++;
  }

  private releaseWindowSlot(): void {
    this.inFlight--;
    this.windowWaiters.shift()?.();
  }

  publish(queue: string, message: OutgoingMessage): Promise<void> {
    return this.send(queue, message, null);
  }

  /**
   * Parks a message in the delayed-delivery ladder (delayed-delivery.ts) until `notBefore`, rounded up to the
   * second, after which RabbitMQ routes it to `queue`. Confirmed and mandatory as `publish`.
   */
  publishDelayed(queue: string, message: OutgoingMessage, notBefore: Date): Promise<void> {
    return this.send(queue, message, notBefore);
  }

  /** The ladder and the queue's binding to its end, once per publishing connection. */
  private async declareDelayed(conn: ChannelModel, generation: number, queue: string): Promise<void> {
    if (this.ladder !== generation) {
      await declareLadder(conn, this.queueOptions.queueType, this.prefix, (m) => process.emitWarning(m));
      this.ladder = generation;
    }
    if (this.delayedBound.get(queue) === generation) return;
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      await bindTaskQueue(ch, this.prefix + queue, this.prefix);
    } finally {
      await ch.close().catch(() => undefined);
    }
    this.delayedBound.set(queue, generation);
  }

  /** The confirm channel when nothing needs opening or declaring for `queue` on this connection; else null. */
  private readyChannel(queue: string, delayed: boolean): ConfirmChannel | null {
    const g = this.pub.generation;
    if (!this.pub.connected || this.confirm?.generation !== g || this.declared.get(queue) !== g) return null;
    if (delayed && (this.ladder !== g || this.delayedBound.get(queue) !== g)) return null;
    return this.confirm.ch;
  }

  private async send(queue: string, message: OutgoingMessage, notBefore: Date | null): Promise<void> {
    const id = String(message.headers.id ?? message.properties.correlation_id);
    const fail = (why: string, cause?: unknown) =>
      new PublishError(`could not publish task ${id} to queue ${queue} on ${this.displayUrl}: ${why}`, {
        cause,
      });
    const deadline = Date.now() + this.publishTimeoutMs;
    await this.takeWindowSlot();
    try {
      // A connection lost before the confirm: publish again on the next one (same task id: at least once).
      for (let attempt = 0; ; attempt++) {
        if (this.pub.blocked && !(await this.pub.waitUnblocked(Math.max(0, deadline - Date.now())))) {
          throw fail(`RabbitMQ is blocking publishers (${this.pub.blocked}): a memory or disk alarm`);
        }
        // The usual case: channel open and queue declared on this connection, nothing to wait for.
        let ch: ConfirmChannel | null = this.readyChannel(queue, notBefore !== null);
        try {
          ch ??= await beforeDeadline(
            (async () => {
              const ch = await this.confirmChannel();
              const conn = await this.pub.ready(Math.max(1, deadline - Date.now()));
              await this.declareQueue(conn, this.pub.generation, queue);
              if (notBefore) await this.declareDelayed(conn, this.pub.generation, queue);
              return ch;
            })(),
            deadline,
            'opening the publishing channel and declaring the queue',
          );
        } catch (err) {
          if (Date.now() < deadline && !(err instanceof BrokerError)) continue;
          throw fail(amqpReason(err), err);
        }
        // Parked: rounded up to the second (the ladder's unit), so it never comes back before `notBefore`.
        const [exchange, routingKey] = notBefore
          ? [
              this.prefix + levelName(DELAYED_ENTRY_LEVEL),
              delayedRoutingKey(Math.ceil((notBefore.getTime() - Date.now()) / 1000), this.prefix + queue),
            ]
          : ['', this.prefix + queue];
        try {
          await this.confirmed(ch, id, exchange, routingKey, message, deadline, true);
          return;
        } catch (err) {
          if (err instanceof PublishError) throw err;
          if (attempt >= 2 || Date.now() >= deadline) throw fail(amqpReason(err), err);
        }
      }
    } finally {
      this.releaseWindowSlot();
    }
  }

  /**
   * Every message written at once (within the publish window) and their confirms awaited together: one round
   * trip for the batch. RabbitMQ has no transaction that spans confirms, so a failure leaves those confirmed
   * before it stored; the error says how many.
   */
  async publishMany(items: readonly { queue: string; message: OutgoingMessage }[]): Promise<void> {
    const settled = await Promise.allSettled(items.map((i) => this.publish(i.queue, i.message)));
    const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length === 0) return;
    throw new PublishError(
      `could not publish ${failed.length} of ${items.length} tasks on ${this.displayUrl} (the others were ` +
        `stored): ${failed[0]!.message}`,
      { cause: failed[0] },
    );
  }

  /** Publishes and resolves on RabbitMQ's ack; `id` names the task in errors (null: a broadcast). */
  private confirmed(
    ch: ConfirmChannel,
    id: string | null,
    exchange: string,
    routingKey: string,
    message: OutgoingMessage,
    deadline: number,
    mandatory: boolean,
  ): Promise<void> {
    const what = id === null ? `a broadcast on ${exchange}` : `task ${id} to ${routingKey}`;
    // Its own key: a retry of the same task (same correlation id) may be published before this one's confirm
    // arrives (RabbitMQ confirms a persistent message once it is on disk), so the task id cannot be the key.
    const key = randomUUID();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.pending.delete(key);
          const why = this.pub.blocked
            ? `RabbitMQ is blocking publishers (${this.pub.blocked}): a memory or disk alarm`
            : `no confirm from RabbitMQ within ${this.publishTimeoutMs} ms`;
          // Written and not withdrawn: a blocked connection is read again once the alarm clears.
          reject(
            new PublishError(
              `could not publish ${what} on ${this.displayUrl}: ${why}; it was sent, so RabbitMQ may ` +
                `still store it (sent again, it may run twice)`,
            ),
          );
        },
        Math.max(1, deadline - Date.now()),
      );
      const entry: Pending = {
        returned: null,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.pending.set(key, entry);
      ch.publish(
        exchange,
        routingKey,
        Buffer.from(message.body, 'utf8'),
        { ...publishOptions(message, mandatory), messageId: key },
        (err: unknown) => {
          if (this.pending.get(key) !== entry) return;
          this.pending.delete(key);
          if (err) return entry.reject(err instanceof Error ? err : new Error(String(err)));
          if (entry.returned) {
            return entry.reject(
              new PublishError(`could not publish ${what} on ${this.displayUrl}: ${entry.returned}`),
            );
          }
          entry.resolve();
        },
      );
    });
  }

  consumer(options: ConsumerOptions): Consumer {
    const c = new AmqpConsumer(this, options, () => this.consumers.delete(c));
    this.consumers.add(c);
    return c;
  }

  private readonly exchanges = new Map<string, number>();

  private async declareExchange(ch: Channel, exchange: Exchange, generation: number): Promise<void> {
    if (this.exchanges.get(exchange.name) === generation) return;
    await ch.assertExchange(this.prefix + exchange.name, exchange.type, exchangeDeclaration(exchange));
    this.exchanges.set(exchange.name, generation);
  }

  /**
   * On the confirm channel, resolving once RabbitMQ routed it (to no queue at all, when nobody listens): a
   * process that broadcasts and exits (`lovage control shutdown`) has been heard, and events a monitor stops
   * after are in its queue, as on Redis where PUBLISH returns once subscribers have the message.
   */
  async broadcast(exchange: Exchange, routingKey: string, message: OutgoingMessage): Promise<void> {
    const deadline = Date.now() + this.publishTimeoutMs;
    try {
      const ch = await beforeDeadline(
        (async () => {
          const ch = await this.confirmChannel();
          await this.declareExchange(ch, exchange, this.pub.generation);
          return ch;
        })(),
        deadline,
        `opening the publishing channel and declaring exchange ${exchange.name}`,
      );
      await this.confirmed(ch, null, this.prefix + exchange.name, routingKey, message, deadline, false);
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      throw new BrokerError(
        `could not broadcast on ${exchange.name} at ${this.displayUrl}: ${amqpReason(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  async subscribe(
    exchange: Exchange,
    bindingKey: string,
    handler: (msg: FanoutMessage) => void,
    onLink?: (state: 'lost' | 'restored') => void,
  ): Promise<() => Promise<void>> {
    const name = this.prefix + exchange.name;
    const queue = `${name}.${randomUUID()}`;
    let current: { ch: Channel; tag: string } | null = null;
    let stopped = false;
    let lost = false;
    const open = async (conn: ChannelModel) => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.assertExchange(name, exchange.type, exchangeDeclaration(exchange));
      await ch.assertQueue(queue, privateQueueDeclaration(exchange));
      await ch.bindQueue(queue, name, exchange.type === 'fanout' ? '' : bindingKey);
      const { consumerTag } = await ch.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const { message } = toInbound(msg);
          if (message) handler({ message, routingKey: msg.fields.routingKey });
        },
        { noAck: true },
      );
      if (stopped) {
        await ch.close().catch(() => undefined);
        return;
      }
      current = { ch, tag: consumerTag };
    };
    const offDisconnect = this.sub.onDisconnect(() => {
      current = null;
      if (!lost) {
        lost = true;
        onLink?.('lost');
      }
    });
    let first = true;
    const offConnect = this.sub.onConnect((conn) => {
      if (first) return;
      void open(conn).then(
        () => {
          if (lost) {
            lost = false;
            onLink?.('restored');
          }
        },
        () => undefined,
      );
    });
    try {
      await open(await this.sub.ready(5000));
    } catch (err) {
      offConnect();
      offDisconnect();
      throw err instanceof BrokerError
        ? err
        : new BrokerError(
            `could not subscribe to ${exchange.name} at ${this.displayUrl}: ${amqpReason(err)}`,
            {
              cause: err,
            },
          );
    }
    first = false;
    const subscription = {
      stop: async () => {
        if (stopped) return;
        stopped = true;
        offConnect();
        offDisconnect();
        this.subscriptions.delete(subscription);
        const c = current as { ch: Channel; tag: string } | null;
        current = null;
        if (c) {
          await c.ch.cancel(c.tag).catch(() => undefined);
          // What reached the queue before the cancel still reaches the handler (a stopping monitor folds all
          // it was sent), as on Redis, where the last handler hears until the unsubscribe is confirmed.
          try {
            for (
              let msg = await c.ch.get(queue, { noAck: true });
              msg;
              msg = await c.ch.get(queue, { noAck: true })
            ) {
              const { message } = toInbound(msg);
              if (message) handler({ message, routingKey: msg.fields.routingKey });
            }
          } catch {
            // The channel is gone: nothing more to read.
          }
          await c.ch.deleteQueue(queue).catch(() => undefined);
          await c.ch.close().catch(() => undefined);
        }
      },
    };
    this.subscriptions.add(subscription);
    return subscription.stop;
  }

  async publishDirect(exchange: Exchange, routingKey: string, message: OutgoingMessage): Promise<void> {
    // Unroutable (nobody waits for this reply any more) is dropped, as kombu does: not mandatory.
    await this.broadcast(exchange, routingKey, message);
  }

  async replyQueue(exchange: Exchange, routingKey: string): Promise<ReplyQueue> {
    const name = this.prefix + exchange.name;
    const queue = `${routingKey}.${name}`;
    const received: InboundMessage[] = [];
    let wake: (() => void) | null = null;
    const conn = await this.sub.ready(5000);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.assertExchange(name, exchange.type, exchangeDeclaration(exchange));
      await ch.assertQueue(queue, privateQueueDeclaration(exchange));
      await ch.bindQueue(queue, name, routingKey);
      await ch.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const { message } = toInbound(msg);
          if (!message) return;
          received.push(message);
          wake?.();
        },
        { noAck: true },
      );
    } catch (err) {
      await ch.close().catch(() => undefined);
      throw new BrokerError(
        `could not declare reply queue ${queue} at ${this.displayUrl}: ${amqpReason(err)}`,
        {
          cause: err,
        },
      );
    }
    return {
      take: async (timeoutMs) => {
        if (received.length === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, timeoutMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
        }
        return received.shift() ?? null;
      },
      close: async () => {
        await ch.deleteQueue(queue).catch(() => undefined);
        await ch.close().catch(() => undefined);
      },
    };
  }

  /** Runs `fn` on a throwaway channel: a 404 for a queue that does not exist closes only that channel. */
  private async onThrowaway<T>(fn: (ch: Channel) => Promise<T>, notFound: T): Promise<T> {
    let conn: ChannelModel;
    try {
      conn = await this.pub.ready(5000);
    } catch (err) {
      throw err instanceof BrokerError ? err : this.pub.unreachable();
    }
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } catch (err) {
      if (/NOT_FOUND/.test(amqpReason(err))) return notFound;
      throw new BrokerError(`the broker at ${this.displayUrl} refused: ${amqpReason(err)}`, { cause: err });
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Ready messages (RabbitMQ's `messageCount`); those delivered and not yet acknowledged are not counted. */
  queueLength(queue: string): Promise<number> {
    return this.onThrowaway(async (ch) => (await ch.checkQueue(this.prefix + queue)).messageCount, 0);
  }

  /** Ready and consumers from a passive declare; unacknowledged deliveries are not told over AMQP. */
  queueStats(queue: string): Promise<QueueStats> {
    return this.onThrowaway(
      async (ch) => {
        const q = await ch.checkQueue(this.prefix + queue);
        return { ready: q.messageCount, unacked: null, consumers: q.consumerCount };
      },
      { ready: 0, unacked: null, consumers: 0 },
    );
  }

  purge(queue: string): Promise<number> {
    return this.onThrowaway(async (ch) => (await ch.purgeQueue(this.prefix + queue)).messageCount, 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.failPending(new BrokerError(`the broker connection to ${this.displayUrl} was closed`));
    await Promise.all([this.pub.close(), this.sub.close()]);
  }
}

interface AmqpDelivery extends Delivery {
  readonly msg: ConsumeMessage;
  /** The channel it came on: acknowledged only there. */
  readonly channel: Channel;
  /** The consumer tag's round (`AmqpConsumer.round`), for prefetch accounting. */
  readonly round: number;
}

/**
 * One worker's consumer: a channel on the consuming connection with one consumer per queue, deliveries
 * buffered until `reserve` takes them. Per-consumer prefetch cannot change under a running consumer, so a
 * new window is applied by consuming again with the new limit and cancelling the old consumers (their
 * unacknowledged deliveries stay ours, and no longer count against the new limit).
 */
class AmqpConsumer implements Consumer {
  private queues: string[];
  private ch: Channel | null = null;
  private opening: Promise<void> | null = null;
  private tags = new Map<string, string>();
  private readonly buffer: AmqpDelivery[] = [];
  /** Delivered on the current channel and not yet acknowledged, requeued or taken back. */
  private readonly held = new Set<AmqpDelivery>();
  private wake: (() => void) | null = null;
  private closed = false;
  /** The window the worker asked for, and what the current consumers were given. */
  private desired: number;
  private limit = 0;
  /** Deliveries held from consumers before the current round (they do not count against `limit`). */
  private round = 0;
  private reconsuming: Promise<void> | null = null;
  private readonly offConnect: () => void;

  constructor(
    private readonly broker: AmqpBroker,
    private readonly options: ConsumerOptions,
    private readonly onClose: () => void,
  ) {
    this.queues = [...new Set(options.queues)];
    this.desired = Math.max(1, options.prefetch ?? 4);
    // A new connection after a loss: open a channel and consume again (only once we had started).
    this.offConnect = broker.sub.onConnect(() => {
      if (this.started && !this.closed && !this.ch) void this.open().catch(() => undefined);
    });
  }

  private started = false;

  private takeBack(reason: string): void {
    const had = this.held.size > 0;
    this.held.clear();
    this.buffer.length = 0;
    this.ch = null;
    this.tags.clear();
    if (had && !this.closed) this.options.onDeliveriesLost?.(reason);
  }

  private open(): Promise<void> {
    this.opening ??= (async () => {
      try {
        const conn = await this.broker.sub.ready(5000);
        const pubConn = await this.broker.pub.ready(5000);
        const ch = await conn.createChannel();
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (this.ch !== ch) return;
          this.takeBack(
            'the channel closed (connection lost, or RabbitMQ closed it): its unacknowledged deliveries ' +
              'went back to their queues',
          );
        });
        for (const q of this.queues) await this.broker.declareQueue(pubConn, this.broker.pub.generation, q);
        this.ch = ch;
        await this.consumeAll(ch, this.desired);
      } catch (err) {
        this.ch = null;
        throw err instanceof BrokerError
          ? err
          : new BrokerError(`could not consume from ${this.broker.displayUrl}: ${amqpReason(err)}`, {
              cause: err,
            });
      } finally {
        this.opening = null;
      }
    })();
    return this.opening;
  }

  private async consumeAll(ch: Channel, window: number): Promise<void> {
    const round = ++this.round;
    const old = this.tags;
    this.tags = new Map();
    // Held deliveries of earlier rounds no longer count against the new consumers' limit.
    const limit = Math.min(65535, Math.max(1, window - this.held.size));
    this.limit = limit;
    await ch.prefetch(limit, false);
    for (const q of this.queues) {
      const { consumerTag } = await ch.consume(
        this.broker.prefix + q,
        (msg) => this.deliver(ch, q, round, msg),
        {
          noAck: false,
        },
      );
      this.tags.set(q, consumerTag);
    }
    for (const tag of old.values()) await ch.cancel(tag).catch(() => undefined);
  }

  private deliver(ch: Channel, queue: string, round: number, msg: ConsumeMessage | null): void {
    if (!msg) {
      // RabbitMQ cancelled the consumer (queue deleted, a quorum queue's consumer timeout): consume again.
      if (!this.closed && this.ch === ch) void this.reconsume();
      return;
    }
    if (this.ch !== ch || this.closed) return;
    const { message, error, headers } = toInbound(msg, this.broker.queueOptions.queueType === 'quorum');
    // The raw text is for dead letters and the console only: written when first read, not per delivery.
    let raw: string | undefined;
    const d: AmqpDelivery = {
      queue,
      message,
      envelopeError: error,
      get raw() {
        return (raw ??= rawOf(msg, headers));
      },
      msg,
      channel: ch,
      round,
    };
    this.held.add(d);
    this.buffer.push(d);
    this.wake?.();
  }

  private reconsume(): Promise<void> {
    this.reconsuming ??= (async () => {
      try {
        if (this.ch) await this.consumeAll(this.ch, this.desired);
      } catch {
        // The channel is closing; it is opened again on the next reserve.
      } finally {
        this.reconsuming = null;
      }
    })();
    return this.reconsuming;
  }

  async reserve(max: number): Promise<Delivery[]> {
    if (this.closed || max <= 0) return [];
    this.started = true;
    if (!this.ch) await this.open();
    if (this.buffer.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.buffer.splice(0, max);
  }

  setQueues(queues: readonly string[]): void {
    const next = [...new Set(queues)];
    const added = next.filter((q) => !this.queues.includes(q));
    const dropped = this.queues.filter((q) => !next.includes(q));
    this.queues = next;
    const ch = this.ch;
    if (!ch) return;
    void (async () => {
      try {
        const conn = await this.broker.pub.ready(5000);
        for (const q of added) {
          await this.broker.declareQueue(conn, this.broker.pub.generation, q);
          const round = this.round;
          const { consumerTag } = await ch.consume(
            this.broker.prefix + q,
            (msg) => this.deliver(ch, q, round, msg),
            {
              noAck: false,
            },
          );
          this.tags.set(q, consumerTag);
        }
        for (const q of dropped) {
          const tag = this.tags.get(q);
          this.tags.delete(q);
          if (tag) await ch.cancel(tag);
        }
      } catch {
        // The channel closed meanwhile; the next open consumes from `this.queues`.
      }
    })();
  }

  /**
   * Per-consumer prefetch: the window is the current consumers' limit plus what earlier rounds still hold.
   * It is applied again (consume anew, cancel the old) when it is off by more than a quarter, or when the
   * worker wants more and the current consumers have no room left (every delivery held: ETA tasks).
   */
  setPrefetch(count: number): void {
    this.desired = Math.max(1, Math.min(65535, count));
    const ch = this.ch;
    if (!ch || this.reconsuming || this.opening) return;
    const earlier = [...this.held].filter((d) => d.round !== this.round).length;
    const current = this.held.size - earlier;
    const effective = this.limit + earlier;
    const full = current >= this.limit;
    if (
      this.desired > effective * 1.25 ||
      this.desired < effective * 0.5 ||
      (this.desired > effective && full)
    ) {
      void this.reconsume();
    }
  }

  /** Live on the channel it came from; false once RabbitMQ took it back (channel closed, reconnect). */
  private live(d: AmqpDelivery): boolean {
    return this.ch === d.channel && this.held.has(d);
  }

  async ack(delivery: Delivery): Promise<boolean> {
    const d = delivery as AmqpDelivery;
    if (!this.live(d)) return false;
    this.held.delete(d);
    this.pendingAcks.push(d);
    if (!this.ackScheduled) {
      this.ackScheduled = true;
      setImmediate(() => this.flushAcks());
    }
    return true;
  }

  private pendingAcks: AmqpDelivery[] = [];
  private ackScheduled = false;

  /**
   * The acks of one event-loop turn, coalesced: every acknowledged delivery below the oldest one still held on
   * the channel goes in one `basic.ack` with `multiple` (it covers only deliveries not yet settled, so nothing
   * held is acknowledged by it), the rest one by one. A worker finishing tasks about in order sends one frame
   * per turn instead of one per task. Sent on the channel they came from; a closed one has requeued them.
   */
  private flushAcks(): void {
    this.ackScheduled = false;
    const acks = this.pendingAcks.splice(0);
    const byChannel = new Map<Channel, number[]>();
    for (const d of acks) {
      const tags = byChannel.get(d.channel) ?? [];
      tags.push(d.msg.fields.deliveryTag);
      byChannel.set(d.channel, tags);
    }
    for (const [ch, tags] of byChannel) {
      let oldestHeld = Infinity;
      for (const h of this.held) {
        if (h.channel === ch && h.msg.fields.deliveryTag < oldestHeld) oldestHeld = h.msg.fields.deliveryTag;
      }
      tags.sort((a, b) => a - b);
      const below = tags.filter((t) => t < oldestHeld);
      try {
        if (below.length > 0) ch.ack({ fields: { deliveryTag: below.at(-1)! } } as Message, true);
        for (const t of tags) if (t >= oldestHeld) ch.ack({ fields: { deliveryTag: t } } as Message, false);
      } catch {
        // The channel closed meanwhile: RabbitMQ requeued them (the at-least-once window of any ack).
      }
    }
  }

  async requeue(delivery: Delivery, where: 'front' | 'back'): Promise<boolean> {
    const d = delivery as AmqpDelivery;
    if (!this.live(d)) return false;
    if (where === 'front') {
      this.held.delete(d);
      // Back where it was, or near the head of the queue.
      d.channel.nack(d.msg, false, true);
      return true;
    }
    // Behind the others: a confirmed copy first, then the original acknowledged (at least once).
    if (!d.message) throw new BrokerError('an unreadable message cannot be requeued at the back');
    await this.broker.publish(d.queue, republishable(d.message));
    if (!this.live(d)) return false;
    this.held.delete(d);
    d.channel.ack(d.msg);
    return true;
  }

  async defer(delivery: Delivery, notBefore: Date): Promise<boolean> {
    const d = delivery as AmqpDelivery;
    if (!this.live(d)) return false;
    if (!d.message) throw new BrokerError('an unreadable message cannot be deferred');
    const parked = republishable(d.message);
    parked.headers = withoutBrokerHeaders(parked.headers);
    // Parked and confirmed first, then the original acknowledged (at least once, as requeue at the back).
    await this.broker.publishDelayed(d.queue, parked, notBefore);
    if (!this.live(d)) return false;
    this.held.delete(d);
    d.channel.ack(d.msg);
    return true;
  }

  deadLetter(): Promise<string | null> {
    // Capability atomicDeadLetter is false: the worker keeps the entry in the state store, then acks.
    return Promise.reject(new BrokerError('the AMQP broker has no atomic dead-letter path'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Acknowledged before the stop: sent first, so the requeue below returns only what was not.
    this.flushAcks();
    this.closed = true;
    this.offConnect();
    this.wake?.();
    const ch = this.ch;
    this.ch = null;
    if (ch) {
      for (const tag of this.tags.values()) await ch.cancel(tag).catch(() => undefined);
      // Everything not acknowledged goes back to the front of its queue, oldest first.
      const held = [...this.held].sort((a, b) => a.msg.fields.deliveryTag - b.msg.fields.deliveryTag);
      for (const d of held.reverse()) {
        try {
          ch.nack(d.msg, false, true);
        } catch {
          // The channel is gone; RabbitMQ requeued them already.
        }
      }
      await ch.close().catch(() => undefined);
    }
    this.held.clear();
    this.buffer.length = 0;
    this.onClose();
  }
}
