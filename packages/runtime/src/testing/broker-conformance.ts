/**
 * The Broker conformance suite: the behaviour every adapter (Redis, AMQP, ...) must show, written once
 * against the contract in `broker/broker.ts`. An adapter's test file calls
 * `describeBrokerConformance('RedisBroker', makeBroker)`.
 *
 * `makeBroker` must return a new, independent connection to one shared broker namespace on each call (the
 * suite uses two instances to play two worker processes); tests isolate themselves with unique queue and
 * exchange names. The suite closes every consumer it opened and calls `cleanup` for every instance after
 * each test; deleting the namespace is the caller's job (afterAll).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Consumer, FanoutMessage } from '../broker/broker';
import { message, nOf, reserveN, until } from './conformance-helpers';

export interface ConformanceBrokerOptions {
  /**
   * Lease length in seconds (visibility timeout) for the lease tests; the instance should use it when it
   * is given. Brokers that are not lease-based may ignore it.
   */
  visibilityTimeout?: number;
}

export interface ConformanceBroker {
  broker: Broker;
  /** Closes the instance. Called after each test, also after `crash`. */
  cleanup(): Promise<void>;
  /**
   * Cuts this instance off without a graceful close, as a crashed process would: its consumers stop
   * renewing leases and never return their messages themselves. Without it the lease test is skipped.
   */
  crash?(): Promise<void>;
}

export type MakeBroker = (options?: ConformanceBrokerOptions) => Promise<ConformanceBroker>;

export function describeBrokerConformance(name: string, makeBroker: MakeBroker): void {
  describe(`Broker conformance: ${name}`, () => {
    const instances: ConformanceBroker[] = [];
    const consumers: Consumer[] = [];

    async function make(options?: ConformanceBrokerOptions): Promise<ConformanceBroker> {
      const b = await makeBroker(options);
      instances.push(b);
      return b;
    }

    function consume(broker: Broker, queues: string[]): Consumer {
      const c = broker.consumer({ consumerId: `conformance-${randomUUID()}`, queues });
      consumers.push(c);
      return c;
    }

    afterEach(async () => {
      await Promise.allSettled(consumers.splice(0).map((c) => c.close()));
      await Promise.allSettled(instances.splice(0).map((b) => b.cleanup()));
    });

    const queue = () => `conformance-${randomUUID()}`;

    it('publish then reserve returns the message as published', async () => {
      const { broker } = await make();
      const q = queue();
      const sent = message(1);
      await broker.publish(q, sent);
      expect(await broker.queueLength(q)).toBe(1);
      const c = consume(broker, [q]);
      const [d] = await reserveN(c, 1);
      expect(d!.queue).toBe(q);
      expect(d!.envelopeError).toBeNull();
      expect(d!.message?.body).toBe(sent.body);
      expect(d!.message?.contentType).toBe('application/json');
      expect(d!.message?.headers?.id).toBe(sent.headers.id);
      expect(d!.message?.headers?.task).toBe('conformance.task');
      expect(typeof d!.raw).toBe('string');
      expect(d!.raw.length).toBeGreaterThan(0);
      // Reserved is no longer waiting.
      expect(await broker.queueLength(q)).toBe(0);
      await c.ack(d!);
    });

    it('delivers in publish order within a priority', async () => {
      const { broker } = await make();
      const q = queue();
      // Interleave two priorities: whatever the order between them, each keeps its own FIFO order.
      const sent = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => message(n, n % 2 === 0 ? 9 : 0));
      for (const m of sent) await broker.publish(q, m);
      const c = consume(broker, [q]);
      const got = (await reserveN(c, sent.length)).map(nOf);
      expect(got.filter((n) => n % 2 === 1)).toEqual([1, 3, 5, 7]);
      expect(got.filter((n) => n % 2 === 0)).toEqual([2, 4, 6, 8]);
    });

    it('reserve takes at most max messages', async () => {
      const { broker } = await make();
      const q = queue();
      for (const n of [1, 2, 3]) await broker.publish(q, message(n));
      const c = consume(broker, [q]);
      const got = await c.reserve(2);
      expect(got.length).toBeLessThanOrEqual(2);
      expect(got.length).toBeGreaterThan(0);
      expect(await broker.queueLength(q)).toBe(3 - got.length);
    });

    it('ack removes the message for good: no other consumer ever sees it', async () => {
      const { broker } = await make();
      const q = queue();
      await broker.publish(q, message(1));
      const c1 = consume(broker, [q]);
      const [d] = await reserveN(c1, 1);
      await c1.ack(d!);
      await c1.close();
      const c2 = consume(broker, [q]);
      expect(await c2.reserve(10)).toEqual([]);
      expect(await broker.queueLength(q)).toBe(0);
    });

    it("requeue 'front' is consumed next and 'back' after the others", async () => {
      const { broker } = await make();
      const q = queue();
      for (const n of [1, 2, 3]) await broker.publish(q, message(n));
      const c = consume(broker, [q]);
      const [first] = await reserveN(c, 1);
      expect(nOf(first!)).toBe(1);
      await c.requeue(first!, 'front');
      const [again] = await reserveN(c, 1);
      expect(nOf(again!)).toBe(1);
      await c.requeue(again!, 'back');
      const rest = await reserveN(c, 3);
      expect(rest.map(nOf)).toEqual([2, 3, 1]);
      for (const d of rest) await c.ack(d);
      expect(await broker.queueLength(q)).toBe(0);
    });

    it('close returns un-acknowledged deliveries to the front of their queue, oldest first', async () => {
      const { broker } = await make();
      const q = queue();
      for (const n of [1, 2, 3, 4]) await broker.publish(q, message(n));
      const c1 = consume(broker, [q]);
      const held = await reserveN(c1, 3);
      expect(held.map(nOf)).toEqual([1, 2, 3]);
      await c1.ack(held[1]!);
      await c1.close();
      expect(await broker.queueLength(q)).toBe(3);
      const c2 = consume(broker, [q]);
      expect((await reserveN(c2, 3)).map(nOf)).toEqual([1, 3, 4]);
    });

    it("a consumer whose lease lapsed gets its messages returned by another consumer's reaper", async (ctx) => {
      const crashed = await make({ visibilityTimeout: 0.3 });
      const live = await make({ visibilityTimeout: 0.3 });
      if (!crashed.crash || !crashed.broker.capabilities.redeliversUnacked) ctx.skip();
      const q = queue();
      for (const n of [1, 2, 3]) await live.broker.publish(q, message(n));
      const abandoned = consume(crashed.broker, [q]);
      expect((await reserveN(abandoned, 3)).map(nOf)).toEqual([1, 2, 3]);
      await crashed.crash!();
      // In flight on the dead consumer: not waiting in the queue until its lease lapses.
      expect(await live.broker.queueLength(q)).toBe(0);
      const c = consume(live.broker, [q]);
      const back = await reserveN(c, 3);
      expect(back.map(nOf)).toEqual([1, 2, 3]);
      for (const d of back) await c.ack(d);
      expect(await live.broker.queueLength(q)).toBe(0);
    });

    it('a live consumer keeps its lease: its messages are not handed to others', async (ctx) => {
      const a = await make({ visibilityTimeout: 0.6 });
      const b = await make({ visibilityTimeout: 0.6 });
      if (!a.broker.capabilities.leaseBased) ctx.skip();
      const q = queue();
      await a.broker.publish(q, message(1));
      const holder = consume(a.broker, [q]);
      const [held] = await reserveN(holder, 1);
      const other = consume(b.broker, [q]);
      // Keep asking for well over two lease lengths; the holder renews, so nothing comes back.
      const end = Date.now() + 1500;
      while (Date.now() < end) expect(await other.reserve(1)).toEqual([]);
      await holder.ack(held!);
      await holder.close();
      expect(await other.reserve(1)).toEqual([]);
    });

    it('queueLength counts waiting messages of every priority; purge deletes them', async () => {
      const { broker } = await make();
      const q = queue();
      expect(await broker.queueLength(q)).toBe(0);
      expect(await broker.purge(q)).toBe(0);
      for (const [n, p] of [
        [1, 0],
        [2, 5],
        [3, 9],
        [4, 0],
      ] as const)
        await broker.publish(q, message(n, p));
      expect(await broker.queueLength(q)).toBe(4);
      const other = queue();
      await broker.publish(other, message(5));
      expect(await broker.purge(q)).toBe(4);
      expect(await broker.queueLength(q)).toBe(0);
      expect(await broker.queueLength(other)).toBe(1);
      const c = consume(broker, [q]);
      expect(await c.reserve(10)).toEqual([]);
      expect(await broker.purge(other)).toBe(1);
    });

    it('publishFanout reaches subscribers of that exchange, with the routing key', async () => {
      const pub = await make();
      const sub = await make();
      const exchange = `conformance.fanout.${randomUUID()}`;
      const got: FanoutMessage[] = [];
      const gotElsewhere: FanoutMessage[] = [];
      const stop = await sub.broker.subscribeFanout(exchange, (m) => got.push(m));
      const stopOther = await sub.broker.subscribeFanout(`${exchange}.other`, (m) => gotElsewhere.push(m));
      const first = message(1);
      await pub.broker.publishFanout(exchange, 'task.multi', first);
      await until(async () => (got.length >= 1 ? true : undefined), 'a broadcast');
      expect(got[0]!.routingKey).toBe('task.multi');
      expect(got[0]!.message.body).toBe(first.body);
      expect(got[0]!.message.headers?.id).toBe(first.headers.id);
      expect(got[0]!.message.contentType).toBe('application/json');

      const second = message(2);
      await pub.broker.publishFanout(exchange, '', second);
      await until(async () => (got.length >= 2 ? true : undefined), 'a second broadcast');
      expect(got[1]!.routingKey).toBe('');
      expect(got[1]!.message.body).toBe(second.body);
      // A broadcast on another exchange, even one whose name starts the same way, is not ours. The marker
      // sent after it on our exchange arrives after it would have.
      await pub.broker.publishFanout(`${exchange}.other`, '', message(3));
      await pub.broker.publishFanout(exchange, '', message(4));
      await until(async () => (got.length >= 3 && gotElsewhere.length >= 1 ? true : undefined), 'the marker');
      expect(got.map((m) => (JSON.parse(m.message.body) as [number[]])[0][0])).toEqual([1, 2, 4]);
      expect(gotElsewhere).toHaveLength(1);
      await stop();
      await stopOther();
    });

    it('an unsubscribed handler receives nothing more', async () => {
      const { broker } = await make();
      const exchange = `conformance.fanout.${randomUUID()}`;
      const stopped: FanoutMessage[] = [];
      const kept: FanoutMessage[] = [];
      const stopFirst = await broker.subscribeFanout(exchange, (m) => stopped.push(m));
      const stopKept = await broker.subscribeFanout(exchange, (m) => kept.push(m));
      await broker.publishFanout(exchange, '', message(1));
      await until(async () => (stopped.length >= 1 && kept.length >= 1 ? true : undefined), 'both handlers');
      await stopFirst();
      await broker.publishFanout(exchange, '', message(2));
      await until(async () => (kept.length >= 2 ? true : undefined), 'the kept handler');
      expect(stopped).toHaveLength(1);
      await stopKept();
    });
  });
}
