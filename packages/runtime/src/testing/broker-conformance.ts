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
import type { Broker, Consumer, ConsumerOptions, FanoutMessage } from '../broker/broker';
import { BrokerError } from '../errors';
import type { Exchange } from '../protocol/exchanges';
import { message, nOf, reserveN, until, WAIT_MS } from './conformance-helpers';

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
  /**
   * Makes the broker take back what the consumer `consumerId` holds, as it would on its own: a reaper
   * returning a lapsed lease's messages (Redis), a closed channel (AMQP). Without it the lost-deliveries
   * test is skipped.
   */
  takeBack?(consumerId: string): Promise<void>;
}

export type MakeBroker = (options?: ConformanceBrokerOptions) => Promise<ConformanceBroker>;

/** A broker server of the suite's own that it may stop and start again (the reconnect test). */
export interface RestartableServer {
  /** A new instance connected to this server, as `MakeBroker`. */
  make: MakeBroker;
  /** Stops the server and starts it again with its stored messages, resolving once it answers. */
  restart(): Promise<void>;
  /** Stops the server for good and removes what it stored. */
  stop(): Promise<void>;
}

export interface ConformanceExtras {
  /** Starts a private server for the broker-restart test; without it that test is skipped. */
  restartable?: () => Promise<RestartableServer>;
}

export function describeBrokerConformance(
  name: string,
  makeBroker: MakeBroker,
  extras: ConformanceExtras = {},
): void {
  describe(`Broker conformance: ${name}`, () => {
    const instances: ConformanceBroker[] = [];
    const consumers: Consumer[] = [];

    async function make(options?: ConformanceBrokerOptions): Promise<ConformanceBroker> {
      const b = await makeBroker(options);
      instances.push(b);
      return b;
    }

    function consume(broker: Broker, queues: string[], options: Partial<ConsumerOptions> = {}): Consumer {
      // A window wide enough for every test that holds deliveries unacknowledged (push transports send no
      // more than it); pull transports are bounded by `reserve(max)` alone.
      const c = broker.consumer({
        consumerId: `conformance-${randomUUID()}`,
        queues,
        prefetch: 100,
        ...options,
      });
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
      // A push transport may have sent the consumer more than it reserved: those are held, not waiting.
      expect(await broker.queueLength(q)).toBeLessThanOrEqual(3 - got.length);
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
      // A window of one, so a push transport has not sent the others ahead of the requeued one.
      const c = consume(broker, [q], { prefetch: 1 });
      const [first] = await reserveN(c, 1);
      expect(nOf(first!)).toBe(1);
      expect(await c.requeue(first!, 'front')).toBe(true);
      const [again] = await reserveN(c, 1);
      expect(nOf(again!)).toBe(1);
      expect(await c.requeue(again!, 'back')).toBe(true);
      c.setPrefetch(10);
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

    it("a crashed consumer's messages return: after its lease lapses, or at once with its channel", async (ctx) => {
      const crashed = await make({ visibilityTimeout: 0.3 });
      const live = await make({ visibilityTimeout: 0.3 });
      if (!crashed.crash || !crashed.broker.capabilities.redeliversUnacked) ctx.skip();
      const q = queue();
      for (const n of [1, 2, 3]) await live.broker.publish(q, message(n));
      const abandoned = consume(crashed.broker, [q]);
      expect((await reserveN(abandoned, 3)).map(nOf)).toEqual([1, 2, 3]);
      await crashed.crash!();
      // In flight on the dead consumer: not waiting in the queue until its lease lapses (a closed channel
      // hands them back at once).
      const lease = crashed.broker.capabilities.delivery === 'lease';
      expect(await live.broker.queueLength(q)).toBe(lease ? 0 : 3);
      const c = consume(live.broker, [q]);
      const back = await reserveN(c, 3);
      expect(back.map(nOf)).toEqual([1, 2, 3]);
      for (const d of back) await c.ack(d);
      expect(await live.broker.queueLength(q)).toBe(0);
    });

    it('a live consumer keeps its lease: its messages are not handed to others', async (ctx) => {
      const a = await make({ visibilityTimeout: 0.6 });
      const b = await make({ visibilityTimeout: 0.6 });
      if (a.broker.capabilities.delivery !== 'lease') ctx.skip();
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

    it('queueStats: ready is what waits; unacked, where told, is what consumers hold unacknowledged', async () => {
      const { broker } = await make();
      const q = queue();
      expect(await broker.queueStats(q)).toMatchObject({ ready: 0 });
      for (const n of [1, 2, 3]) await broker.publish(q, message(n));
      const before = await broker.queueStats(q);
      expect(before.ready).toBe(3);
      expect(before.unacked === null || before.unacked === 0).toBe(true);
      const c = consume(broker, [q], { prefetch: 2 });
      const got = await reserveN(c, 2);
      const held = await broker.queueStats(q);
      expect(held.ready).toBe(1);
      if (held.unacked !== null) expect(held.unacked).toBe(2);
      if (held.consumers !== null) expect(held.consumers).toBe(1);
      for (const d of got) await c.ack(d);
      const after = await broker.queueStats(q);
      expect(after.unacked === null || after.unacked === 0).toBe(true);
    });

    it('declares its transport and capabilities', async () => {
      const { broker } = await make();
      expect(['redis', 'amqp']).toContain(broker.transport);
      const c = broker.capabilities;
      expect(['lease', 'channel']).toContain(c.delivery);
      expect(['low-first', 'high-first']).toContain(c.priorityOrder);
      expect(c.maxHoldSeconds === null || c.maxHoldSeconds > 0).toBe(true);
      expect(typeof c.atomicDeadLetter).toBe('boolean');
      expect(typeof c.redeliversUnacked).toBe('boolean');
    });

    it('serves priorities in the order its capabilities declare', async () => {
      const { broker } = await make();
      const q = queue();
      // Interleaved; message 2 is the only high one.
      for (const [n, p] of [
        [1, 0],
        [2, 9],
        [3, 0],
      ] as const)
        await broker.publish(q, message(n, p));
      const c = consume(broker, [q]);
      const got = (await reserveN(c, 3)).map(nOf);
      expect(got).toEqual(broker.capabilities.priorityOrder === 'low-first' ? [1, 3, 2] : [2, 1, 3]);
    });

    it('a raised prefetch lets a consumer holding its window receive more', async () => {
      const { broker } = await make();
      const q = queue();
      for (const n of [1, 2, 3, 4]) await broker.publish(q, message(n));
      const c = consume(broker, [q], { prefetch: 2 });
      // The worker holds two ETA tasks unacknowledged, and raises the window by as many to run others.
      const held = await reserveN(c, 2);
      c.setPrefetch(4);
      const more = await reserveN(c, 2);
      expect([...held, ...more].map(nOf)).toEqual([1, 2, 3, 4]);
      for (const d of [...held, ...more]) expect(await c.ack(d)).toBe(true);
      expect(await broker.queueLength(q)).toBe(0);
    });

    it('deliveries the broker took back: reported once, and ack or requeue say false', async (ctx) => {
      const inst = await make({ visibilityTimeout: 1 });
      if (!inst.takeBack) ctx.skip();
      const { broker } = inst;
      const q = queue();
      for (const n of [1, 2, 3]) await broker.publish(q, message(n));
      const lost: string[] = [];
      const consumerId = `conformance-${randomUUID()}`;
      const c = consume(broker, [q], { consumerId, onDeliveriesLost: (why) => lost.push(why) });
      const [a, b, d] = await reserveN(c, 3);
      await inst.takeBack!(consumerId);
      // Back in the queue for anyone: acknowledging or requeueing now changes nothing and says so.
      expect(await c.ack(a!)).toBe(false);
      expect(await c.requeue(b!, 'front')).toBe(false);
      expect(await c.ack(d!)).toBe(false);
      // The consumer goes on: it receives them again, as new deliveries it can acknowledge.
      const back = await reserveN(c, 3);
      expect(back.map(nOf).sort()).toEqual([1, 2, 3]);
      await until(async () => (lost.length > 0 ? true : undefined), 'onDeliveriesLost');
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatch(/\w/);
      for (const x of back) expect(await c.ack(x)).toBe(true);
      expect(await broker.queueLength(q)).toBe(0);
    });

    it('a consumer can defer exactly when the broker limits how long a delivery is held', async () => {
      const { broker } = await make();
      const c = consume(broker, [queue()]);
      expect(typeof c.defer === 'function').toBe(broker.capabilities.maxHoldSeconds !== null);
    });

    it('a deferred message comes back once, no earlier than its time, and the old delivery is done', async (ctx) => {
      const { broker } = await make();
      if (broker.capabilities.maxHoldSeconds === null) return ctx.skip();
      const q = queue();
      const sent = message(1);
      await broker.publish(q, sent);
      await broker.publish(q, message(2));
      const c = consume(broker, [q]);
      const [d, other] = await reserveN(c, 2);
      const notBefore = new Date(Date.now() + 1500);
      expect(await c.defer!(d!, notBefore)).toBe(true);
      // Handed back: the old delivery can no longer be acknowledged, and nothing waits in the queue meanwhile.
      expect(await c.ack(d!)).toBe(false);
      expect(await c.ack(other!)).toBe(true);
      expect(await broker.queueLength(q)).toBe(0);
      const [back] = await reserveN(c, 1, notBefore.getTime() - Date.now() + WAIT_MS);
      expect(Date.now()).toBeGreaterThanOrEqual(notBefore.getTime());
      expect(nOf(back!)).toBe(1);
      expect(back!.message?.headers?.id).toBe(sent.headers.id);
      expect(back!.message?.body).toBe(sent.body);
      expect(await c.ack(back!)).toBe(true);
      // Exactly once: nothing more comes.
      const deadline = Date.now() + 1500;
      while (Date.now() < deadline) expect(await c.reserve(10)).toEqual([]);
      // Parked again after it came back (AMQP: through a level of the ladder it went through before, which
      // RabbitMQ takes for a dead-letter cycle if the message still says so), it still comes back.
      await broker.publish(q, message(3));
      let [again] = await reserveN(c, 1);
      for (const ms of [1000, 2500]) {
        expect(await c.defer!(again!, new Date(Date.now() + ms))).toBe(true);
        [again] = await reserveN(c, 1, ms + WAIT_MS);
      }
      expect(nOf(again!)).toBe(3);
      expect(await c.ack(again!)).toBe(true);
    });

    it('a topic exchange routes by binding key, a fanout to every subscriber', async () => {
      const pub = await make();
      const sub = await make();
      const topic: Exchange = { name: `conformance.topic.${randomUUID()}`, type: 'topic' };
      const fanout: Exchange = { name: `${topic.name}.other`, type: 'fanout' };
      const all: FanoutMessage[] = [];
      const tasks: FanoutMessage[] = [];
      const heartbeats: FanoutMessage[] = [];
      const fanned: FanoutMessage[] = [];
      const stops = [
        await sub.broker.subscribe(topic, '#', (m) => all.push(m)),
        await sub.broker.subscribe(topic, 'task.#', (m) => tasks.push(m)),
        await sub.broker.subscribe(topic, '*.heartbeat', (m) => heartbeats.push(m)),
        // A fanout ignores binding keys; its name merely starts like the topic's, and they do not mix.
        await sub.broker.subscribe(fanout, 'ignored', (m) => fanned.push(m)),
      ];
      const first = message(1);
      await pub.broker.broadcast(topic, 'task.multi', first);
      await pub.broker.broadcast(topic, 'worker.heartbeat', message(2));
      await pub.broker.broadcast(fanout, '', message(3));
      await pub.broker.broadcast(topic, 'task', message(4));
      await until(async () => (all.length >= 3 && fanned.length >= 1 ? true : undefined), 'the broadcasts');
      const ns = (ms: FanoutMessage[]) => ms.map((m) => (JSON.parse(m.message.body) as [number[]])[0][0]);
      expect(ns(all)).toEqual([1, 2, 4]);
      expect(ns(tasks)).toEqual([1, 4]);
      expect(ns(heartbeats)).toEqual([2]);
      expect(ns(fanned)).toEqual([3]);
      expect(all[0]!.routingKey).toBe('task.multi');
      expect(all[0]!.message.body).toBe(first.body);
      expect(all[0]!.message.headers?.id).toBe(first.headers.id);
      expect(all[0]!.message.contentType).toBe('application/json');
      for (const stop of stops) await stop();
    });

    it('an unsubscribed handler receives nothing more', async () => {
      const { broker } = await make();
      const exchange: Exchange = { name: `conformance.fanout.${randomUUID()}`, type: 'fanout' };
      const stopped: FanoutMessage[] = [];
      const kept: FanoutMessage[] = [];
      const stopFirst = await broker.subscribe(exchange, '', (m) => stopped.push(m));
      const stopKept = await broker.subscribe(exchange, '', (m) => kept.push(m));
      await broker.broadcast(exchange, '', message(1));
      await until(async () => (stopped.length >= 1 && kept.length >= 1 ? true : undefined), 'both handlers');
      await stopFirst();
      await broker.broadcast(exchange, '', message(2));
      await until(async () => (kept.length >= 2 ? true : undefined), 'the kept handler');
      expect(stopped).toHaveLength(1);
      await stopKept();
    });

    it('a reply queue receives direct messages for its routing key only; unroutable ones are dropped', async () => {
      const { broker } = await make();
      const exchange: Exchange = { name: `conformance.reply.${randomUUID()}`, type: 'direct' };
      const mine = await broker.replyQueue(exchange, 'oid-1');
      try {
        await broker.publishDirect(exchange, 'oid-2', message(1));
        await broker.publishDirect(exchange, 'oid-1', message(2));
        const got = await mine.take(WAIT_MS);
        expect(got && (JSON.parse(got.body) as [number[]])[0][0]).toBe(2);
        expect(await mine.take(200)).toBeNull();
      } finally {
        await mine.close();
      }
    });

    it('after the broker restarts, consumers and publishers resume and nothing stored is lost', async (ctx) => {
      if (!extras.restartable) return ctx.skip();
      const server = await extras.restartable();
      const { broker, cleanup } = await server.make();
      const c = broker.consumer({ consumerId: `conformance-${randomUUID()}`, queues: [queue()] });
      try {
        const q = queue();
        c.setQueues([q]);
        await broker.publish(q, message(1));
        const [one] = await reserveN(c, 1);
        expect(await c.ack(one!)).toBe(true);
        await broker.publish(q, message(2));
        await server.restart();
        // While it reconnects, reserve may reject, and only with a BrokerError; publishing is retried.
        await until(
          () =>
            broker.publish(q, message(3)).then(
              () => true,
              () => undefined,
            ),
          'a publish after the restart',
          15_000,
        );
        const got: number[] = [];
        await until(
          async () => {
            try {
              for (const d of await c.reserve(2)) {
                got.push(nOf(d));
                expect(await c.ack(d)).toBe(true);
              }
            } catch (err) {
              expect(err).toBeInstanceOf(BrokerError);
            }
            return got.length >= 2 ? true : undefined;
          },
          'both messages after the restart',
          15_000,
        );
        expect(got).toEqual([2, 3]);
      } finally {
        // Closed while the server is there: a client of a server gone for good would retry forever.
        await c.close();
        await cleanup();
        await server.stop();
      }
    }, 30_000);
  });
}
