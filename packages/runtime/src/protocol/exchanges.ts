/**
 * The exchanges Celery's protocol uses besides the task queues' own, as typed descriptors. A transport
 * realises each type its own way: AMQP declares them as they are; kombu's Redis transport has no topic
 * exchanges and Celery switches `celeryev` to a fanout there (celery/events/event.py, "quick hack for Issue
 * #436"), so the Redis broker delivers a topic exchange as a fanout and filters by binding key itself.
 */

export type ExchangeType = 'direct' | 'fanout' | 'topic';

export interface Exchange {
  readonly name: string;
  readonly type: ExchangeType;
}

/** Celery's events (`task.multi`, `worker.heartbeat`, ...): a topic exchange, routing key = event type. */
export const EVENT_EXCHANGE: Exchange = { name: 'celeryev', type: 'topic' };
/** Remote-control requests to every worker: Celery's broadcast mailbox. */
export const PIDBOX_EXCHANGE: Exchange = { name: 'celery.pidbox', type: 'fanout' };
/** Remote-control replies, routed to the requester's `<oid>.reply.celery.pidbox` queue. */
export const REPLY_EXCHANGE: Exchange = { name: 'reply.celery.pidbox', type: 'direct' };

/**
 * AMQP's topic match: a binding key of dot-separated words where `*` stands for exactly one word and `#`
 * for zero or more (`task.#` matches `task.multi` and `task`; `*.heartbeat` matches `worker.heartbeat`).
 */
export function topicMatches(bindingKey: string, routingKey: string): boolean {
  if (bindingKey === '#') return true;
  const pattern = bindingKey.split('.');
  const words = routingKey === '' ? [] : routingKey.split('.');
  const match = (p: number, w: number): boolean => {
    if (p === pattern.length) return w === words.length;
    const word = pattern[p];
    if (word === '#') {
      for (let skip = w; skip <= words.length; skip++) if (match(p + 1, skip)) return true;
      return false;
    }
    return w < words.length && (word === '*' || word === words[w]) && match(p + 1, w + 1);
  };
  return match(0, 0);
}

/** Whether a message published with `routingKey` reaches a subscription bound with `bindingKey`. */
export function routes(exchange: Exchange, bindingKey: string, routingKey: string): boolean {
  if (exchange.type === 'fanout') return true;
  if (exchange.type === 'direct') return bindingKey === routingKey;
  return topicMatches(bindingKey, routingKey);
}
