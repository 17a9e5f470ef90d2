/**
 * ETA past RabbitMQ's consumer timeout, quorum queues' delivery limit, and the delivery's redelivered flag and
 * count in the task context, with workers on a RabbitMQ node of this file's own whose `consumer_timeout` is
 * 4 s, checked every 500 ms (the machine's node is shared and keeps its 30 min). The apps say so
 * (`consumerTimeout: 4`: a delivery is held at most 2 s), and every delivery's hold is also measured at the
 * consumer, from reserve to its ack, requeue or defer.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker, Consumer, Delivery } from '../../src/broker/broker';
import { encodeTaskMessage } from '../../src/protocol/message';
import { reserveN } from '../../src/testing/conformance-helpers';
import type { TaskContext } from '../../src';
import { rejection, useTestApps, waitFor } from '../helpers';
import { PrivateRabbit } from '../private-rabbit';

const TIMEOUT_S = 4;
let node: PrivateRabbit;
let url: string;

beforeAll(async () => {
  node = await PrivateRabbit.start({ consumer_timeout: TIMEOUT_S * 1000 }, { channel_tick_interval: 500 });
  url = await node.addVhost('delayed');
}, 90_000);

afterAll(async () => {
  await node?.destroy();
});

const testApp = useTestApps();

/** Records, for every delivery the broker's consumers hand out, how long it was held and how it ended. */
function measureHolds(broker: Broker) {
  const holds: { ms: number; end: 'ack' | 'requeue' | 'defer' }[] = [];
  const make = broker.consumer.bind(broker);
  broker.consumer = (options) => {
    const c = make(options);
    const since = new Map<Delivery, number>();
    const end = (d: Delivery, how: 'ack' | 'requeue' | 'defer') => {
      const t = since.get(d);
      if (t !== undefined) holds.push({ ms: Date.now() - t, end: how });
      since.delete(d);
    };
    const wrapped: Consumer = {
      reserve: async (max) => {
        const got = await c.reserve(max);
        for (const d of got) since.set(d, Date.now());
        return got;
      },
      setQueues: (q) => c.setQueues(q),
      setPrefetch: (n) => c.setPrefetch(n),
      ack: async (d) => (end(d, 'ack'), c.ack(d)),
      requeue: async (d, where) => (end(d, 'requeue'), c.requeue(d, where)),
      deadLetter: (d, reason) => c.deadLetter(d, reason),
      close: () => c.close(),
      ...(c.defer ? { defer: async (d, at) => (end(d, 'defer'), c.defer!(d, at)) } : {}),
    };
    return wrapped;
  };
  return holds;
}

it('the node takes back a delivery held past its consumer timeout (what the worker must avoid)', async () => {
  const h = testApp({ broker: url });
  const lost: string[] = [];
  const c = h.app.broker.consumer({
    consumerId: `test-${randomUUID()}`,
    queues: [h.queue],
    onDeliveriesLost: (why) => lost.push(why),
  });
  await h.app.broker.publish(
    h.queue,
    encodeTaskMessage({ id: randomUUID(), name: 't.held', args: [], kwargs: {}, origin: 'test' }),
  );
  const [d] = await reserveN(c, 1);
  await waitFor(() => lost.length > 0, { timeoutMs: (TIMEOUT_S + 3) * 1000, what: 'the consumer timeout' });
  expect(await c.ack(d!)).toBe(false);
  await c.close();
});

describe.each(['classic', 'quorum'] as const)('on a %s queue', (queueType) => {
  it('an ETA past the hold horizon is parked on the broker, runs once, not before its ETA, never held past the timeout', async () => {
    const h = testApp({ broker: url, transport: { consumerTimeout: TIMEOUT_S, queueType } });
    const lost: string[] = [];
    const holds = measureHolds(h.app.broker);
    const runs: { at: number; redelivered: boolean | null; deliveryCount: number | null }[] = [];
    const t = h.app.task('t.later', (ctx: TaskContext) => {
      runs.push({ at: Date.now(), redelivered: ctx.redelivered, deliveryCount: ctx.deliveryCount });
      return 'done';
    });
    const w = await h.startWorker({ concurrency: 2 });
    w.on('deliveries-lost', (why) => lost.push(why));
    const eta = new Date(Date.now() + 6000);
    const r = h.track(await t.applyAsync([], { eta }));
    const near = h.track(await t.applyAsync([], { countdown: 1 }));
    expect(await near.get({ timeout: 5 })).toBe('done');
    expect(await r.get({ timeout: 15 })).toBe('done');
    // Nothing runs twice: give a duplicate time to show.
    await new Promise((res) => setTimeout(res, 1500));
    expect(runs).toHaveLength(2);
    expect(runs[1]!.at).toBeGreaterThanOrEqual(eta.getTime());
    // Parked once (the far one), the near one held; no delivery held up to the 4 s timeout, none past 2 s.
    expect(holds.filter((x) => x.end === 'defer')).toHaveLength(1);
    expect(Math.max(...holds.map((x) => x.ms))).toBeLessThan(2000 + 250);
    // And the node, whose consumer timeout is 4 s, never took a delivery back from the worker.
    expect(lost).toEqual([]);
    // A parked message comes back as a new message: first delivery.
    expect(runs[1]!.redelivered).toBe(false);
    expect(runs[1]!.deliveryCount).toBe(queueType === 'quorum' ? 0 : null);
  });

  it('the redelivered flag and delivery count reach the task', async () => {
    const h = testApp({ broker: url, transport: { queueType } });
    const seen: [boolean | null, number | null][] = [];
    const t = h.app.task('t.seen', (ctx: TaskContext) => {
      seen.push([ctx.redelivered, ctx.deliveryCount]);
    });
    const r = h.track(await t.delay());
    // A consumer takes it and lets it go twice (as a worker that stops before acknowledging would).
    const c = h.app.broker.consumer({ consumerId: `test-${randomUUID()}`, queues: [h.queue] });
    for (let i = 0; i < 2; i++) {
      const [d] = await reserveN(c, 1);
      expect(await c.requeue(d!, 'front')).toBe(true);
    }
    // Closing returns what it was handed again meanwhile (on RabbitMQ 3.10 that counts as a delivery too).
    await c.close();
    await h.startWorker();
    await r.get({ timeout: 5 });
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBe(true);
    if (queueType === 'quorum') expect(seen[0]![1]).toBeGreaterThanOrEqual(2);
    else expect(seen[0]![1]).toBeNull();
  });
});

it('a revoke reaches a parked task at once (REVOKED shown), and it never runs when it comes back', async () => {
  const h = testApp({ broker: url, transport: { consumerTimeout: TIMEOUT_S } });
  const holds = measureHolds(h.app.broker);
  const ran: number[] = [];
  const t = h.app.task('t.parked', () => void ran.push(Date.now()));
  await h.startWorker({ concurrency: 1 });
  const eta = new Date(Date.now() + 5000);
  const r = h.track(await t.applyAsync([], { eta }));
  await waitFor(() => holds.some((x) => x.end === 'defer'), { timeoutMs: 3000, what: 'the task parked' });
  await h.app.revoke(r.id);
  // Nobody holds its message, yet its state is REVOKED at once, not when its ETA comes.
  await waitFor(async () => (await r.info())?.status === 'REVOKED', { timeoutMs: 1500, what: 'REVOKED' });
  await new Promise((res) => setTimeout(res, eta.getTime() - Date.now() + 2000));
  expect(ran).toEqual([]);
  expect((await r.info())?.status).toBe('REVOKED');
});

describe('a quorum queue', () => {
  it('declares x-queue-type quorum and dead-letters a delivery at its delivery limit instead of running it', async () => {
    const h = testApp({ broker: url, transport: { queueType: 'quorum', deliveryLimit: 3 } });
    let calls = 0;
    h.app.task('t.poison', () => ++calls);
    const id = randomUUID();
    await h.app.broker.publish(
      h.queue,
      encodeTaskMessage({ id, name: 't.poison', args: [], kwargs: {}, origin: 'test' }),
    );
    const queues = await node.ctl('list_queues', '-p', 'delayed', 'name', 'type');
    expect(queues).toMatch(new RegExp(`${h.prefix}${h.queue}\\s+quorum`));
    // Three deliveries end without an acknowledgement (a task killing its worker each time does the same).
    const c = h.app.broker.consumer({ consumerId: `test-${randomUUID()}`, queues: [h.queue] });
    const counts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const [d] = await reserveN(c, 1);
      counts.push((d!.message!.properties.delivery_info as Record<string, unknown>).delivery_count);
      expect(await c.requeue(d!, 'front')).toBe(true);
    }
    await c.close();
    expect(counts).toEqual([0, 1, 2]);
    const w = await h.startWorker();
    const letters = await waitFor(async () => {
      const l = await h.app.state.deadLetters.list(h.queue);
      return l.length > 0 ? l : undefined;
    });
    expect(letters).toHaveLength(1);
    // 3, or 4 when the closing consumer was handed it once more and returned it.
    expect(letters[0]!.reason).toMatch(/^delivery limit reached \([34] deliveries\)$/);
    expect(letters[0]!.message?.headers?.id).toBe(id);
    expect(letters[0]!.consumer).toMatch(/\w/);
    await w.stop();
    expect(calls).toBe(0);
    expect(await h.app.broker.queueLength(h.queue)).toBe(0);
    // Its caller stops waiting: FAILURE, WorkerLostError naming the reason.
    const err = await rejection(h.app.asyncResult(h.track({ id }).id).get({ timeout: 2 }));
    expect(err.name).toBe('WorkerLostError');
    expect(err.message).toMatch(/^delivery limit reached \([34] deliveries\): not run again/);
  });
});
