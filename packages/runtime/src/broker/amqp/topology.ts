/**
 * What Lovage declares on RabbitMQ, flag for flag as a Celery 5.x worker and client do
 * (shared/rabbitmq-notes.md §1.1, §2.1, §2.2): a second declarer with other flags or arguments gets a 406 that
 * closes its channel, so the names, types, flags and `x-` arguments here must stay Celery's.
 */
import type { Options } from 'amqplib';
import type { Exchange } from '../../protocol/exchanges';

export interface QueueOptions {
  /** `quorum` declares `x-queue-type: quorum` (Celery 5.5 `task_default_queue_type`). */
  queueType: 'classic' | 'quorum';
  /** `x-max-priority` on classic queues (Celery `task_queue_max_priority`); null: none, as Celery's default. */
  maxPriority: number | null;
}

/** A task queue: durable, its own direct exchange of the same name, bound by its name (kombu's Queue). */
export function taskQueueArguments(options: QueueOptions): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (options.queueType === 'quorum') args['x-queue-type'] = 'quorum';
  else if (options.maxPriority !== null) args['x-max-priority'] = options.maxPriority;
  return args;
}

export function taskQueueDeclaration(options: QueueOptions): Options.AssertQueue {
  return { durable: true, exclusive: false, autoDelete: false, arguments: taskQueueArguments(options) };
}

/**
 * Celery declares `celeryev` durable (kombu's default) and the pidbox exchanges not durable
 * (`Mailbox(durable=False)`); any other exchange Lovage declares follows kombu's default.
 */
export function exchangeDeclaration(exchange: Exchange): Options.AssertExchange {
  const transient = exchange.name === 'celery.pidbox' || exchange.name === 'reply.celery.pidbox';
  return { durable: !transient, autoDelete: false };
}

/**
 * A subscriber's own queue: exclusive (so RabbitMQ 4.3, which refuses transient non-exclusive queues, accepts
 * it), deleted with its connection, with Celery's expiry (`event_queue_expires` 60 s, `control_queue_expires`
 * 10 s) and pidbox's message TTL (`control_queue_ttl` 300 s), also for events (Celery's `event_queue_ttl` is 5 s).
 */
export function privateQueueDeclaration(exchange: Exchange): Options.AssertQueue {
  const events = exchange.type === 'topic';
  return {
    durable: false,
    exclusive: true,
    autoDelete: true,
    // Celery's event queues keep a message 5 s (`event_queue_ttl`), so a monitor that falls behind loses
    // events; Lovage's monitor folds every one, and these queues are its own: 5 minutes, as pidbox's.
    arguments: events
      ? { 'x-message-ttl': 300000, 'x-expires': 60000 }
      : { 'x-message-ttl': 300000, 'x-expires': 10000 },
  };
}
