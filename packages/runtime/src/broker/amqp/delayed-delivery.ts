/**
 * Celery 5.5's native delayed delivery (kombu `kombu/transport/native_delayed_delivery.py`; rabbitmq-notes
 * §3.5), declared name for name and argument for argument so a Celery 5.5 worker on the same vhost shares it:
 * 28 levels, L = 27..0, each a topic exchange `celery_delayed_L` and a queue of the same name whose messages
 * expire after 2^L s and are dead-lettered to level L-1 (level 0: to `celery_delayed_delivery`). A message is
 * published to `celery_delayed_27` with a routing key of the delay's 28 binary digits, then `.` and the
 * destination's routing key; level L's queue takes it when its digit is 1, else exchange L passes it down.
 *
 * Celery binds only topic and fanout exchanges to `celery_delayed_delivery`; Lovage's task queues hang off the
 * default (direct) exchange, so the task queue itself is bound to it with `#.<queue>` (bindTaskQueue).
 */
import type { Channel, ChannelModel, Options } from 'amqplib';

export const DELAY_LEVELS = 28;
/** The longest park, in seconds (about 8.5 years): 28 binary digits. */
export const MAX_DELAY_SECONDS = 2 ** DELAY_LEVELS - 1;
export const DELAYED_DELIVERY_EXCHANGE = 'celery_delayed_delivery';
/** Where a parked message is published. */
export const DELAYED_ENTRY_LEVEL = DELAY_LEVELS - 1;

export function levelName(level: number): string {
  return `celery_delayed_${level}`;
}

/** kombu's `calculate_routing_key`: the delay's 28 binary digits joined by dots, then the routing key. */
export function delayedRoutingKey(delaySeconds: number, routingKey: string): string {
  const seconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.trunc(delaySeconds)));
  return [...seconds.toString(2).padStart(DELAY_LEVELS, '0')].join('.') + '.' + routingKey;
}

export type LadderStep =
  | { kind: 'exchange'; name: string }
  | { kind: 'queue'; name: string; options: Options.AssertQueue }
  | { kind: 'bindQueue'; queue: string; exchange: string; pattern: string }
  | { kind: 'bindExchange'; destination: string; source: string; pattern: string };

/**
 * kombu's `declare_native_delayed_delivery_exchanges_and_queues`, in its order. Names are Celery's after
 * `prefix` (empty in a fleet shared with Celery). Exchanges are topic, durable (kombu's default); queues
 * durable, with `x-queue-type` always given (classic too, as kombu does).
 */
export function ladderSteps(queueType: 'classic' | 'quorum', prefix = ''): LadderStep[] {
  const steps: LadderStep[] = [];
  const name = (level: number) => prefix + levelName(level);
  let pattern = '1.#';
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    const args: Record<string, unknown> = {
      'x-queue-type': queueType,
      'x-overflow': 'reject-publish',
      'x-message-ttl': 2 ** level * 1000,
      'x-dead-letter-exchange': level > 0 ? name(level - 1) : prefix + DELAYED_DELIVERY_EXCHANGE,
    };
    if (queueType === 'quorum') args['x-dead-letter-strategy'] = 'at-least-once';
    steps.push({ kind: 'exchange', name: name(level) });
    steps.push({
      kind: 'queue',
      name: name(level),
      options: { durable: true, exclusive: false, autoDelete: false, arguments: args },
    });
    steps.push({ kind: 'bindQueue', queue: name(level), exchange: name(level), pattern });
    pattern = '*.' + pattern;
  }
  pattern = '0.#';
  for (let level = DELAY_LEVELS - 1; level > 0; level--) {
    steps.push({ kind: 'bindExchange', destination: name(level - 1), source: name(level), pattern });
    pattern = '*.' + pattern;
  }
  steps.push({ kind: 'exchange', name: prefix + DELAYED_DELIVERY_EXCHANGE });
  steps.push({
    kind: 'bindExchange',
    destination: prefix + DELAYED_DELIVERY_EXCHANGE,
    source: name(0),
    pattern,
  });
  return steps;
}

async function runStep(ch: Channel, step: LadderStep): Promise<void> {
  switch (step.kind) {
    case 'exchange':
      await ch.assertExchange(step.name, 'topic', { durable: true, autoDelete: false });
      return;
    case 'queue':
      await ch.assertQueue(step.name, step.options);
      return;
    case 'bindQueue':
      await ch.bindQueue(step.queue, step.exchange, step.pattern);
      return;
    case 'bindExchange':
      await ch.bindExchange(step.destination, step.source, step.pattern);
      return;
  }
}

/**
 * Declares the ladder on throwaway channels. A level queue that exists with other arguments (a Celery worker
 * declared it quorum, Lovage classic, or the reverse) closes the channel with a 406: that queue is used as it
 * is, checked passively, and `warn` says so; the rest is declared on a new channel.
 */
export async function declareLadder(
  conn: ChannelModel,
  queueType: 'classic' | 'quorum',
  prefix: string,
  warn: (message: string) => void,
): Promise<void> {
  const open = async () => {
    const c = await conn.createChannel();
    c.on('error', () => undefined);
    return c;
  };
  let ch = await open();
  try {
    for (const step of ladderSteps(queueType, prefix)) {
      try {
        await runStep(ch, step);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (step.kind !== 'queue' || !/PRECONDITION_FAILED/.test(reason)) throw err;
        ch = await open();
        await ch.checkQueue(step.name);
        warn(
          `delayed-delivery queue ${step.name} exists with other arguments; using it as it is (${reason})`,
        );
      }
    }
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Binds a task queue (on the default exchange) to `celery_delayed_delivery`, so parked messages reach it. */
export async function bindTaskQueue(ch: Channel, queue: string, prefix: string): Promise<void> {
  await ch.bindQueue(queue, prefix + DELAYED_DELIVERY_EXCHANGE, `#.${queue}`);
}

/**
 * Headers RabbitMQ adds on dead-lettering and redelivery, dropped from a message parked again: a message
 * published with the `x-death` of an earlier trip down the ladder is taken for a dead-letter cycle by
 * RabbitMQ 3.x and dropped at the first level it saw before; the delivery count is the old message's.
 */
const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count$|acquired-count$)/;

export function withoutBrokerHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) if (!BROKER_HEADERS.test(k)) out[k] = v;
  return out;
}
