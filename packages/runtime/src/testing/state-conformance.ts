/**
 * The state conformance suite: what every state store (Redis today) must do for Lovage's records, written
 * once against `state/state.ts`. A store's test file calls `describeStateConformance('RedisStateStore',
 * makeState)`.
 *
 * `makeState` returns a state store and the broker it serves (dead letters come from the broker's
 * consumers and go back through its publish), on one namespace shared by every call; tests isolate
 * themselves with unique queue names and ids. The suite closes the consumers it opened and calls
 * `cleanup` after each test; deleting the namespace is the caller's job (afterAll).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Consumer } from '../broker/broker';
import { deadLetterDelivery } from '../state/dead-letters';
import type { BeatDefinition } from '../beat/schedule';
import { BEAT_HISTORY_LENGTH, type DeadLetter, type StateStore } from '../state/state';
import { message, nOf, reserveN, until } from './conformance-helpers';

export interface ConformanceState {
  state: StateStore;
  broker: Broker;
  /** Closes the store and the broker. Called after each test. */
  cleanup(): Promise<void>;
}

export type MakeState = () => Promise<ConformanceState>;

/** A dead letter whose message could not be read: only its raw text is kept. */
function unreadable(queue: string): DeadLetter {
  return {
    id: randomUUID(),
    queue,
    reason: 'unreadable envelope',
    message: null,
    raw: 'not json at all',
    at: Date.now(),
    consumer: null,
  };
}

export function describeStateConformance(name: string, makeState: MakeState): void {
  describe(`State conformance: ${name}`, () => {
    const instances: ConformanceState[] = [];
    const consumers: Consumer[] = [];

    async function make(): Promise<ConformanceState> {
      const s = await makeState();
      instances.push(s);
      return s;
    }

    function consume(broker: Broker, queues: string[]): { consumer: Consumer; id: string } {
      const id = `conformance-${randomUUID()}`;
      const consumer = broker.consumer({ consumerId: id, queues });
      consumers.push(consumer);
      return { consumer, id };
    }

    afterEach(async () => {
      await Promise.allSettled(consumers.splice(0).map((c) => c.close()));
      await Promise.allSettled(instances.splice(0).map((s) => s.cleanup()));
    });

    const queue = () => `conformance-${randomUUID()}`;

    async function deadLettered(s: ConformanceState, q: string, reasons: string[]) {
      for (const n of reasons.map((_, i) => i + 1)) await s.broker.publish(q, message(n));
      const { consumer, id } = consume(s.broker, [q]);
      const held = await reserveN(consumer, reasons.length);
      const ids: (string | null)[] = [];
      for (const [i, d] of held.entries()) {
        ids.push(await deadLetterDelivery(s.broker, s.state, consumer, id, d, reasons[i]!));
      }
      return { consumer, consumerId: id, held, ids };
    }

    it('revoked ids are current until they expire', async () => {
      const { state } = await make();
      const [a, b, brief] = [randomUUID(), randomUUID(), randomUUID()];
      await state.revoked.add([a, b], 60);
      await state.revoked.add([brief], 1);
      expect(await state.revoked.current()).toEqual(expect.arrayContaining([a, b, brief]));
      await until(async () => ((await state.revoked.current()).includes(brief) ? undefined : true), 'expiry');
      expect(await state.revoked.current()).toEqual(expect.arrayContaining([a, b]));
      await state.revoked.add([], 60);
    });

    it('the queue registry lists every queue published to, sorted, empty or not', async () => {
      const { state, broker } = await make();
      const [q1, q2] = [queue(), queue()].sort().reverse();
      // The app records a queue before publishing, unless the broker's own publish does (a shared store).
      await state.queues.add(q1!);
      await broker.publish(q1!, message(1));
      if (!state.sharesBroker) await state.queues.add(q2!);
      await broker.publish(q2!, message(1));
      await state.queues.add(q1!);
      expect(await broker.purge(q1!)).toBe(1);
      const known = await state.queues.list();
      expect(known).toEqual([...known].sort());
      expect(known.filter((q) => q === q1 || q === q2)).toEqual([q2, q1]);
      expect(known).not.toContain(queue());
    });

    it('a dead letter keeps the decoded message, the raw text and the reason, newest first', async () => {
      const s = await make();
      const q = queue();
      const before = Date.now();
      const { consumer, consumerId, held, ids } = await deadLettered(s, q, ['first reason', 'second reason']);
      await s.broker.publish(q, message(3));
      const dead = await s.state.deadLetters.list(q);
      expect(dead.map((x) => x.reason)).toEqual(['second reason', 'first reason']);
      expect(dead.map((x) => x.id)).toEqual([ids[1], ids[0]]);
      expect(new Set(ids).size).toBe(2);
      expect(dead[1]!.raw).toBe(held[0]!.raw);
      expect(dead[1]!.message?.body).toBe(held[0]!.message?.body);
      expect(dead[1]!.message?.headers?.id).toBe(held[0]!.message?.headers?.id);
      expect(dead[1]!.queue).toBe(q);
      expect(dead[1]!.consumer).toBe(consumerId);
      expect(dead[1]!.at).toBeGreaterThanOrEqual(before - 1000);
      expect(await s.state.deadLetters.list(q, 1, 10)).toEqual([dead[1]]);
      expect(await s.state.deadLetters.count(q)).toBe(2);
      expect((await s.state.deadLetters.queues()).filter((x) => x.queue === q)).toEqual([
        { queue: q, count: 2 },
      ]);
      // Dead letters are not in flight: closing does not bring them back.
      await consumer.close();
      const { consumer: c2 } = consume(s.broker, [q]);
      const [only] = await reserveN(c2, 1);
      expect(nOf(only!)).toBe(3);
      expect(await c2.reserve(10)).toEqual([]);
    });

    it('a dead letter is requeued behind the waiting messages, or deleted, by id, once', async () => {
      const s = await make();
      const q = queue();
      const { consumer } = await deadLettered(s, q, ['one', 'two']);
      await s.broker.publish(q, message(3));
      const [two, one] = await s.state.deadLetters.list(q);
      const letters = s.state.deadLetters;
      expect(await letters.requeue(q, one!.id, s.broker)).toBe(true);
      expect(await letters.requeue(q, one!.id, s.broker)).toBe(false);
      expect((await letters.list(q)).map((x) => x.id)).toEqual([two!.id]);
      const again = await reserveN(consumer, 2);
      expect(again.map(nOf)).toEqual([3, 1]);
      expect(again[1]!.message?.headers?.id).toBe(one!.message?.headers?.id);
      if (s.state.sharesBroker) expect(again[1]!.raw).toBe(one!.raw);

      expect(await letters.delete(q, two!.id)).toBe(true);
      expect(await letters.delete(q, two!.id)).toBe(false);
      expect(await letters.list(q)).toEqual([]);
      // A queue whose last dead letter went is no longer listed.
      expect((await letters.queues()).filter((x) => x.queue === q)).toEqual([]);
      expect(await letters.requeue(q, randomUUID(), s.broker)).toBe(false);
    });

    it('put and take keep an entry as given, an unreadable message as raw text', async () => {
      const { state } = await make();
      const q = queue();
      const entry = unreadable(q);
      await state.deadLetters.put(entry);
      expect(await state.deadLetters.list(q)).toEqual([entry]);
      expect(await state.deadLetters.take(q, entry.id)).toEqual(entry);
      expect(await state.deadLetters.take(q, entry.id)).toBeNull();
      expect(await state.deadLetters.count(q)).toBe(0);
    });

    it('an unreadable dead letter goes back raw on a shared store, else is refused and kept', async () => {
      const { state, broker } = await make();
      const q = queue();
      const entry = unreadable(q);
      await state.deadLetters.put(entry);
      if (state.sharesBroker) {
        expect(await state.deadLetters.requeue(q, entry.id, broker)).toBe(true);
        expect(await broker.queueLength(q)).toBe(1);
        expect(await broker.purge(q)).toBe(1);
      } else {
        await expect(state.deadLetters.requeue(q, entry.id, broker)).rejects.toMatchObject({
          code: 'MESSAGE_MALFORMED',
        });
        expect(await state.deadLetters.list(q)).toEqual([entry]);
        expect(await broker.queueLength(q)).toBe(0);
        expect(await state.deadLetters.delete(q, entry.id)).toBe(true);
      }
    });

    it("beat's lease has one holder at a time; renewing, releasing and the fenced claim check the token", async () => {
      const { state } = await make();
      const store = state.beat;
      const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
      const entry = `entry-${randomUUID()}`;
      try {
        expect(await store.lease(a, 5000)).toBe(true);
        expect(await store.lease(b, 5000)).toBe(false);
        expect(await store.lease(a, 5000)).toBe(true);
        expect(await store.holder()).toBe(a);

        const first = { schedule: 'every 1s', last: null, next: 1000 };
        // A beat that does not hold the lease is refused, and nothing is recorded.
        expect(await store.claim(b, entry, null, first)).toBe('not-leader');
        expect(await store.read(entry)).toBeNull();
        expect(await store.claim(a, entry, null, first)).toBe('claimed');
        // A claim against what the entry was before another claim (a stale read) is refused.
        expect(await store.claim(a, entry, null, { ...first, next: 2000 })).toBe('changed');
        const second = { schedule: 'every 1s', last: 1000, next: 2000 };
        expect(await store.claim(a, entry, first, second)).toBe('claimed');
        expect(await store.read(entry)).toEqual(second);
        expect((await store.entries())[entry]).toEqual(second);

        expect(await store.release(b)).toBe(false);
        expect(await store.release(a)).toBe(true);
        expect(await store.holder()).toBeNull();
        expect(await store.claim(a, entry, second, first)).toBe('not-leader');
        // The lease lapses by itself when not renewed.
        expect(await store.lease(b, 50)).toBe(true);
        await until(async () => ((await store.holder()) === null ? true : undefined), 'the lease to lapse');
        expect(await store.lease(a, 5000)).toBe(true);
      } finally {
        await store.release(a);
        await store.release(b);
      }
    });

    it('keeps schedule entries: code ones published, console ones defined beside them, flags and history', async () => {
      const { state } = await make();
      const store = state.beat;
      const tag = randomUUID();
      const [code, mine] = [`code-${tag}`, `console-${tag}`];
      const def = (task: string): BeatDefinition => ({
        task,
        schedule: 60,
        args: [1],
        kwargs: {},
        options: {},
        timezone: 'UTC',
      });
      const v0 = await store.version();
      try {
        const routes = { defaultQueue: 'jobs', tasks: { 'code.task': 'reports' } };
        expect(await store.routes()).toBeNull();
        await store.publishCode({ [code]: def('code.task') }, routes);
        expect(await store.routes()).toEqual(routes);
        const v1 = await store.version();
        expect(v1).toBeGreaterThan(v0);
        // Publishing the same entries again (another beat starting) changes nothing.
        await store.publishCode({ [code]: def('code.task') }, routes);
        expect(await store.version()).toBe(v1);
        expect((await store.definitions())[code]).toMatchObject({
          source: 'code',
          definition: def('code.task'),
        });

        // A console entry may not take a code entry's name, nor be created twice.
        expect(await store.define(code, 'create', def('x'), 'ann')).toBe('code');
        expect(await store.define(code, 'delete', null, 'ann')).toBe('code');
        expect(await store.define(mine, 'update', def('x'), 'ann')).toBe('missing');
        expect(await store.define(mine, 'create', def('console.task'), 'ann')).toBe('ok');
        expect(await store.define(mine, 'create', def('other'), 'bob')).toBe('exists');
        expect(await store.define(mine, 'update', def('console.v2'), 'bob')).toBe('ok');
        expect((await store.definitions())[mine]).toMatchObject({
          source: 'console',
          definition: def('console.v2'),
          updatedBy: 'bob',
        });
        const v2 = await store.version();
        expect(v2).toBeGreaterThan(v1);

        // Either kind can be disabled; an unknown name cannot. Each flip moves the version.
        expect(await store.setEnabled(`nothing-${tag}`, false)).toBe(false);
        expect(await store.setEnabled(code, false)).toBe(true);
        expect(await store.setEnabled(mine, false)).toBe(true);
        expect((await store.disabled()).filter((n) => n.endsWith(tag)).sort()).toEqual([code, mine]);
        expect(await store.setEnabled(mine, true)).toBe(true);
        expect(await store.disabled()).not.toContain(mine);
        expect(await store.version()).toBeGreaterThan(v2);

        // The history keeps the newest runs, newest first, capped.
        for (let i = 0; i < BEAT_HISTORY_LENGTH + 3; i++) {
          await store.record(mine, { taskId: `t${i}`, due: i, sent: i, by: 'beat', missed: 0 });
        }
        const runs = await store.history(mine);
        expect(runs).toHaveLength(BEAT_HISTORY_LENGTH);
        expect(runs[0]).toEqual({
          taskId: `t${BEAT_HISTORY_LENGTH + 2}`,
          due: BEAT_HISTORY_LENGTH + 2,
          sent: BEAT_HISTORY_LENGTH + 2,
          by: 'beat',
          missed: 0,
        });
        expect(await store.history(mine, 2)).toEqual(runs.slice(0, 2));

        // Deleting drops the entry with its history; the app dropping its code entry unpublishes it.
        expect(await store.define(mine, 'delete', null, 'ann')).toBe('ok');
        expect(await store.define(mine, 'delete', null, 'ann')).toBe('missing');
        expect(await store.history(mine)).toEqual([]);
        expect(await store.setEnabled(code, true)).toBe(true);
        await store.publishCode({}, routes);
        const left = await store.definitions();
        expect(left[code]).toBeUndefined();
        expect(left[mine]).toBeUndefined();
      } finally {
        await store.setEnabled(code, true);
        await store.define(mine, 'delete', null, null);
      }
    });

    it('opens settings and the task index on the same store', async () => {
      const { state } = await make();
      await state.ping(2000);
      expect(typeof (await state.settings.current())).toBe('object');
      const index = state.taskIndex();
      try {
        expect(Array.isArray(await index.queues())).toBe(true);
      } finally {
        await index.close();
      }
    });
  });
}
