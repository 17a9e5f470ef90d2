/**
 * The delayed-delivery ladder as kombu 5.5 declares it (`native_delayed_delivery.py`, rabbitmq-notes §3.5),
 * so a Celery 5.5 worker on the same vhost declares the same entities without a 406, and the routing keys
 * Celery's `calculate_routing_key` computes.
 */
import { describe, expect, it } from 'vitest';
import {
  delayedRoutingKey,
  ladderSteps,
  MAX_DELAY_SECONDS,
  withoutBrokerHeaders,
} from '../../src/broker/amqp/delayed-delivery';

describe('delayed-delivery ladder', () => {
  it('routing keys: the delay in 28 binary digits, dot-joined, then the routing key', () => {
    expect(delayedRoutingKey(5, 'celery')).toBe('0.'.repeat(25) + '1.0.1.celery');
    expect(delayedRoutingKey(0, 'a.b')).toBe('0.'.repeat(28) + 'a.b');
    // Fractions truncated as Celery's int(countdown); past 2^28-1 s capped.
    expect(delayedRoutingKey(2.9, 'q')).toBe(delayedRoutingKey(2, 'q'));
    expect(delayedRoutingKey(MAX_DELAY_SECONDS + 10, 'q')).toBe('1.'.repeat(28) + 'q');
  });

  it("declares kombu's 28 levels, in its order, with its arguments", () => {
    const steps = ladderSteps('classic');
    const queues = steps.filter((s) => s.kind === 'queue');
    expect(queues.map((q) => q.name)).toEqual(
      Array.from({ length: 28 }, (_, i) => `celery_delayed_${27 - i}`),
    );
    expect(steps[0]).toEqual({ kind: 'exchange', name: 'celery_delayed_27' });
    expect(steps[1]).toEqual({
      kind: 'queue',
      name: 'celery_delayed_27',
      options: {
        durable: true,
        exclusive: false,
        autoDelete: false,
        arguments: {
          'x-queue-type': 'classic',
          'x-overflow': 'reject-publish',
          'x-message-ttl': 2 ** 27 * 1000,
          'x-dead-letter-exchange': 'celery_delayed_26',
        },
      },
    });
    expect(steps[2]).toEqual({
      kind: 'bindQueue',
      queue: 'celery_delayed_27',
      exchange: 'celery_delayed_27',
      pattern: '1.#',
    });
    const level0 = queues.at(-1)!;
    expect(level0.kind === 'queue' && level0.options.arguments).toEqual({
      'x-queue-type': 'classic',
      'x-overflow': 'reject-publish',
      'x-message-ttl': 1000,
      'x-dead-letter-exchange': 'celery_delayed_delivery',
    });
    expect(steps.find((s) => s.kind === 'bindQueue' && s.queue === 'celery_delayed_0')).toMatchObject({
      pattern: '*.'.repeat(27) + '1.#',
    });
    const exchangeBinds = steps.filter((s) => s.kind === 'bindExchange');
    expect(exchangeBinds[0]).toEqual({
      kind: 'bindExchange',
      destination: 'celery_delayed_26',
      source: 'celery_delayed_27',
      pattern: '0.#',
    });
    expect(exchangeBinds).toHaveLength(28);
    expect(steps.at(-2)).toEqual({ kind: 'exchange', name: 'celery_delayed_delivery' });
    expect(steps.at(-1)).toEqual({
      kind: 'bindExchange',
      destination: 'celery_delayed_delivery',
      source: 'celery_delayed_0',
      pattern: '*.'.repeat(27) + '0.#',
    });
  });

  it('quorum levels add at-least-once dead-lettering; a prefix names every entity', () => {
    const [, q] = ladderSteps('quorum', 'p:');
    expect(q).toMatchObject({
      name: 'p:celery_delayed_27',
      options: {
        arguments: {
          'x-queue-type': 'quorum',
          'x-dead-letter-strategy': 'at-least-once',
          'x-dead-letter-exchange': 'p:celery_delayed_26',
        },
      },
    });
    expect(ladderSteps('quorum', 'p:').at(-1)).toMatchObject({ destination: 'p:celery_delayed_delivery' });
  });

  it("a parked message drops RabbitMQ's dead-letter and delivery-count headers, keeps the rest", () => {
    expect(
      withoutBrokerHeaders({
        id: 'x',
        eta: '2026-01-01T00:00:00Z',
        'x-death': [],
        'x-first-death-queue': 'celery_delayed_0',
        'x-last-death-reason': 'expired',
        'x-delivery-count': 3,
        'x-custom': 1,
      }),
    ).toEqual({ id: 'x', eta: '2026-01-01T00:00:00Z', 'x-custom': 1 });
  });
});
