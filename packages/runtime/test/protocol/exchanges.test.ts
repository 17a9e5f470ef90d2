import { describe, expect, it } from 'vitest';
import { EVENT_EXCHANGE, PIDBOX_EXCHANGE, REPLY_EXCHANGE, routes, topicMatches } from '../../src';

describe('exchanges', () => {
  it("declares Celery's exchanges with their AMQP types", () => {
    expect(EVENT_EXCHANGE).toEqual({ name: 'celeryev', type: 'topic' });
    expect(PIDBOX_EXCHANGE).toEqual({ name: 'celery.pidbox', type: 'fanout' });
    expect(REPLY_EXCHANGE).toEqual({ name: 'reply.celery.pidbox', type: 'direct' });
  });

  it.each([
    ['#', 'task.multi', true],
    ['#', '', true],
    ['task.#', 'task', true],
    ['task.#', 'task.multi', true],
    ['task.#', 'task.a.b', true],
    ['task.#', 'worker.heartbeat', false],
    ['task.*', 'task.multi', true],
    ['task.*', 'task', false],
    ['task.*', 'task.a.b', false],
    ['*.heartbeat', 'worker.heartbeat', true],
    ['*.heartbeat', 'heartbeat', false],
    ['#.heartbeat', 'heartbeat', true],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['worker.online', 'worker.online', true],
    ['worker.online', 'worker.offline', false],
  ])('topic binding %j on routing key %j: %s', (binding, key, expected) => {
    expect(topicMatches(binding, key)).toBe(expected);
  });

  it('a fanout ignores keys; a direct exchange wants them equal', () => {
    expect(routes(PIDBOX_EXCHANGE, 'x', 'y')).toBe(true);
    expect(routes(REPLY_EXCHANGE, 'oid', 'oid')).toBe(true);
    expect(routes(REPLY_EXCHANGE, 'oid', 'other')).toBe(false);
    expect(routes(EVENT_EXCHANGE, 'task.*', 'task.multi')).toBe(true);
  });
});
