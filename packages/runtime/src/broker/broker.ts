/**
 * The broker contract. A broker moves task messages between producers and workers and owns everything about
 * delivery guarantees: how a message is held while a worker has it, how it is acknowledged, what happens to
 * the messages of a worker that dies. Workers and clients depend on this contract only; the Redis and AMQP
 * adapters implement it and pass the conformance suite in `src/testing`.
 */
import { randomUUID } from 'node:crypto';
import type { Exchange } from '../protocol/exchanges';
import type { InboundMessage, OutgoingMessage } from '../protocol/message';

/** The transports Lovage has an adapter for. */
export type Transport = 'redis' | 'amqp';

export interface BrokerCapabilities {
  /** Unacknowledged messages survive a worker crash and return to the queue. */
  redeliversUnacked: boolean;
  /**
   * What hands a crashed consumer's messages back: `lease` (Redis: a visibility timeout the consumer renews
   * lapses, and another consumer's reaper returns them) or `channel` (AMQP: the connection or channel closes).
   */
  delivery: 'lease' | 'channel';
  /**
   * Which priority a consumer takes first. kombu's Redis transport serves step 0 first (`low-first`); an AMQP
   * queue with `x-max-priority` serves the highest number first (`high-first`).
   */
  priorityOrder: 'low-first' | 'high-first';
  /**
   * The longest a delivery may stay unacknowledged before the broker takes it back from a live consumer
   * (RabbitMQ's `consumer_timeout`), in seconds; null when it is held as long as the consumer lives (Redis
   * renews its lease). Whoever holds ETA tasks must hand longer waits back to the broker: `Consumer.defer`,
   * which every consumer of a broker with a limit has.
   */
  maxHoldSeconds: number | null;
  /**
   * `Consumer.deadLetter` moves a delivery into the state store's dead letters in one atomic step, when the
   * state store shares the broker's database (`StateStore.sharesBroker`). Otherwise the worker keeps the
   * entry in the state store, then acknowledges (put-then-ack).
   */
  atomicDeadLetter: boolean;
}

/** One message handed to a worker. Opaque to the worker except for the decoded message. */
export interface Delivery {
  readonly queue: string;
  /** The message, or null when the transport envelope itself could not be read (see `envelopeError`). */
  readonly message: InboundMessage | null;
  readonly envelopeError: string | null;
  /** The message exactly as the broker holds it, kept in dead letters. */
  readonly raw: string;
}

export interface ConsumerOptions {
  /** Unique per worker process: names its in-flight structures and its lease. */
  consumerId: string;
  queues: readonly string[];
  /** Lease seconds for this consumer, overriding the broker's `visibilityTimeout` (lease transports). */
  visibilityTimeout?: number;
  /**
   * How many deliveries may be held unacknowledged at first (Celery's prefetch count); `setPrefetch` changes
   * it. Push transports bound what they send by it; pull transports are bounded by `reserve(max)` instead.
   */
  prefetch?: number;
  /**
   * Called when the broker took back what this consumer held and had not acknowledged: a lapsed lease (the
   * process stalled past it and a reaper returned the messages) or a closed channel. Those deliveries are
   * back in their queues: the worker drops the ones it has not started, and acknowledging any of them
   * resolves false.
   */
  onDeliveriesLost?: (reason: string) => void;
  /**
   * Called when the broker had lost this consumer's records (Redis restarted without its data) and the
   * consumer re-established them, writing back `restored` messages it holds so none can be lost later.
   */
  onRecordsRestored?: (restored: number) => void;
}

export interface Consumer {
  /**
   * Takes up to `max` messages; waits a short while (about a second) for the first one, then returns.
   * Rejects with a BrokerError while the broker is unreachable; the adapter reconnects (and re-declares and
   * re-consumes) by itself, so calling again later resumes.
   */
  reserve(max: number): Promise<Delivery[]>;
  /**
   * Changes the queues consumed from now on (remote control add_consumer / cancel_consumer). Messages
   * already reserved from a dropped queue stay held until acknowledged or released.
   */
  setQueues(queues: readonly string[]): void;
  /**
   * The most deliveries held unacknowledged at once. The worker keeps it at its prefetch count plus the
   * tasks it holds for an ETA or a rate limit (Celery raises its QoS per ETA task the same way), so held
   * tasks never starve the window on a push transport. A no-op where `reserve(max)` already bounds it.
   */
  setPrefetch(count: number): void;
  /**
   * Acknowledges: the message is gone for good. Resolves false when the broker had already taken the
   * delivery back (`onDeliveriesLost`), so it is in a queue again; rejects only when the broker is away.
   */
  ack(delivery: Delivery): Promise<boolean>;
  /**
   * Puts the message back: `front` to be consumed next (a release), `back` behind the others (a reject).
   * Resolves false when the broker had already taken it back.
   */
  requeue(delivery: Delivery, where: 'front' | 'back'): Promise<boolean>;
  /**
   * The atomic dead-letter path (capability `atomicDeadLetter`, used only when the state store shares the
   * broker's database): removes the message and keeps it in the state store's dead letters with the reason,
   * in one step. Resolves to the entry's id, or null when it was no longer in flight here. Callers go through
   * `deadLetterDelivery` (state/dead-letters.ts), which falls back to put-then-ack.
   */
  deadLetter(delivery: Delivery, reason: string): Promise<string | null>;
  /**
   * Parks the message on the broker until `notBefore`, then acknowledges this delivery: the message comes
   * back to its queue no earlier than `notBefore`, as a new delivery (not redelivered, its delivery count
   * reset), with its headers (`eta` included) unchanged. Resolves false when the broker had already taken the
   * delivery back; then nothing was parked, unless the channel closed between the park and the ack, the
   * at-least-once window every put-then-ack has.
   *
   * Present exactly when `capabilities.maxHoldSeconds` is not null (AMQP: RabbitMQ's delayed-delivery ladder),
   * where the worker must not hold a delivery longer; a broker that holds deliveries as long as the consumer
   * lives (Redis renews its lease) has nothing to gain from it and leaves it out.
   */
  defer?(delivery: Delivery, notBefore: Date): Promise<boolean>;
  /** Stops consuming and returns every message not yet acknowledged to the front of its queue. */
  close(): Promise<void>;
}

export interface FanoutMessage {
  message: InboundMessage;
  routingKey: string;
}

/** A private queue that receives direct-exchange messages for one routing key (a control requester's replies). */
export interface ReplyQueue {
  /** Waits up to `timeoutMs` for the next message; null when none came. */
  take(timeoutMs: number): Promise<InboundMessage | null>;
  /** Unbinds and deletes the queue. */
  close(): Promise<void>;
}

/** A queue as its broker sees it; null where the transport cannot tell cheaply. */
export interface QueueStats {
  /** Messages waiting to be delivered, every priority (`queueLength`). */
  ready: number;
  /**
   * Delivered to consumers and not yet acknowledged. Redis: the consumers' in-flight lists. AMQP: null,
   * since a passive declare reports only ready messages and consumers (RabbitMQ's management API has it).
   */
  unacked: number | null;
  /** Consumers attached to the queue on the broker (AMQP); null where consumers are not per queue (Redis). */
  consumers: number | null;
}

export interface Broker {
  readonly transport: Transport;
  readonly capabilities: BrokerCapabilities;
  /** The URL with any password masked, for logs and the console. */
  readonly displayUrl: string;
  /** Checks the broker answers within `timeoutMs`; rejects with a BrokerError saying where and why not. */
  ping(timeoutMs?: number): Promise<void>;
  /** Sends a task message to a queue. Resolves once the broker stored it; rejects with a PublishError. */
  publish(queue: string, message: OutgoingMessage): Promise<void>;
  /**
   * Sends many task messages in one round trip per batch, each to its queue, in order. Resolves once the
   * broker stored every one; rejects with a PublishError otherwise (Redis: none was stored, one transaction;
   * AMQP: those confirmed before the failure were, and a retry sends them again under the same task ids).
   */
  publishMany(items: readonly { queue: string; message: OutgoingMessage }[]): Promise<void>;
  consumer(options: ConsumerOptions): Consumer;
  /**
   * Broadcasts on a fanout or topic exchange (`celery.pidbox`, `celeryev`) to whoever is subscribed now.
   * Fire and forget: nothing is stored.
   */
  broadcast(exchange: Exchange, routingKey: string, message: OutgoingMessage): Promise<void>;
  /**
   * Receives broadcasts until the returned function is called: on a fanout exchange all of them, on a topic
   * exchange those whose routing key matches `bindingKey` (`#`: all; `task.*`: task events). Broadcasts sent
   * while the subscription's connection is down are missed, which `onLink` reports (`lost` when it drops,
   * `restored` once the subscription is back).
   */
  subscribe(
    exchange: Exchange,
    bindingKey: string,
    handler: (msg: FanoutMessage) => void,
    onLink?: (state: 'lost' | 'restored') => void,
  ): Promise<() => Promise<void>>;
  /**
   * Sends to every queue bound to a direct exchange with this routing key; dropped when none is (kombu's
   * behaviour). Remote-control replies travel this way to `reply.celery.pidbox`.
   */
  publishDirect(exchange: Exchange, routingKey: string, message: OutgoingMessage): Promise<void>;
  /** Declares a queue bound to `exchange` with `routingKey` and reads it (Celery's `<oid>.reply.celery.pidbox`). */
  replyQueue(exchange: Exchange, routingKey: string): Promise<ReplyQueue>;
  /** Messages waiting in a queue (all priorities). */
  queueLength(queue: string): Promise<number>;
  /** What the broker can tell of a queue's messages and consumers (the console's queues page). */
  queueStats(queue: string): Promise<QueueStats>;
  /** Deletes every waiting message of a queue; returns how many. */
  purge(queue: string): Promise<number>;
  close(): Promise<void>;
}

/** A consumer id unique per worker process: names its in-flight structures and its lease. */
export function newConsumerId(hostname: string): string {
  return `${hostname}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Masks the password of a broker or backend URL: `redis://:****@host:6379/0`. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//****@');
  }
}
