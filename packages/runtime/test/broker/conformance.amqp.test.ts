/**
 * The broker conformance suite against the machine's RabbitMQ, on a vhost of this file's own (deleted after).
 * Task queues get `x-max-priority` so the priority test has priorities to order.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { AmqpBroker } from '../../src/broker/amqp/amqp-broker';
import { describeBrokerConformance, type ConformanceBroker } from '../../src/testing';
import { PrivateRabbit } from '../private-rabbit';

const vhost = `lovage-conformance-${randomUUID()}`;
const url = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
const ctl = (...args: string[]) => execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'pipe' });

beforeAll(() => {
  ctl('add_vhost', vhost);
  ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
});

// The restart test's node, stopped here too: a timed-out test may not reach its own stop.
const nodes: PrivateRabbit[] = [];

afterAll(async () => {
  ctl('delete_vhost', vhost);
  await Promise.all(nodes.map((n) => n.destroy()));
});

function amqpInstance(url: string, vhost: string, ctl: (...args: string[]) => unknown): ConformanceBroker {
  const broker = new AmqpBroker(url, { maxPriority: 10 });
  return {
    broker,
    cleanup: () => broker.close().catch(() => undefined),
    // A crashed process: its connections close without a cancel or nack; RabbitMQ requeues what it held.
    crash: async () => {
      await Promise.all([broker.sub.close(), broker.pub.close()]);
    },
    // RabbitMQ closes the connections (as on a network cut or a node's restart); the consumer's channel
    // goes with them and its deliveries return to their queues.
    takeBack: async () => {
      const generation = broker.sub.generation;
      await ctl('close_all_connections', '-p', vhost, 'conformance: take deliveries back');
      // Once the consuming connection is back, the old one's close has reached the consumer.
      while (broker.sub.generation === generation) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

describeBrokerConformance('AmqpBroker', async () => amqpInstance(url, vhost, ctl), {
  // A RabbitMQ node of the test's own whose application is stopped and started again (stop_app/start_app):
  // durable queues and persistent messages survive, every connection is closed meanwhile.
  restartable: async () => {
    const node = await PrivateRabbit.start();
    nodes.push(node);
    const own = await node.addVhost('conformance');
    return {
      make: async () => amqpInstance(own, 'conformance', (...args) => node.ctl(...args)),
      restart: () => node.restartApp(),
      stop: () => node.destroy(),
    };
  },
});
