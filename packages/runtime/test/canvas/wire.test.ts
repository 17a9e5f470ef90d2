/**
 * What Lovage's canvas client sends, message by message, against what Celery 5.2.6's client sends for the same
 * canvas (fixtures/celery-5.2.6-canvas.json, captured by fixtures/capture_celery_canvas.py). Ids are compared
 * by where they appear (each distinct id becomes `<id n>` in order of first appearance), so the fixture's
 * frozen ids, groups, parents and roots must line up exactly; `lang`, `origin` and the ETA's time are the
 * only fields left out. Also: bad canvases are refused before anything is sent. Runs on the run's broker.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import {
  chain,
  chord,
  ConfigError,
  EncodeError,
  group,
  GroupResult,
  type App,
  type OutgoingMessage,
} from '../../src';
import { groupKey } from '../../src/backend/redis/redis-backend';
import { useTestApps } from '../helpers';

interface Captured {
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
  body: unknown;
}

const celery = JSON.parse(
  readFileSync(new URL('./fixtures/celery-5.2.6-canvas.json', import.meta.url), 'utf8'),
) as Record<string, { messages: Captured[]; [k: string]: unknown }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Ids replaced by their order of first appearance; the fields that differ by nature dropped. */
function normalise(value: unknown, ids = new Map<string, string>()): unknown {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string' && UUID.test(v)) {
      if (!ids.has(v)) ids.set(v, `<id ${ids.size}>`);
      return ids.get(v);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => k !== 'lang' && k !== 'origin')
          .map(([k, x]) => [k, k === 'eta' && x !== null ? '<eta>' : walk(x)]),
      );
    }
    return v;
  };
  return walk(value);
}

const testApp = useTestApps();

/** An app whose bulk publishes are recorded (and still sent). */
function recorded(): { h: ReturnType<typeof testApp>; sent: Captured[] } {
  const h = testApp();
  const sent: Captured[] = [];
  const publish = h.app.broker.publishMany.bind(h.app.broker);
  vi.spyOn(h.app.broker, 'publishMany').mockImplementation(async (items) => {
    for (const { message } of items) sent.push(capture(message));
    return publish(items);
  });
  return { h, sent };
}

function capture(m: OutgoingMessage): Captured {
  const { correlation_id, priority, delivery_mode } = m.properties;
  return {
    headers: m.headers,
    properties: { correlation_id, priority, delivery_mode },
    body: JSON.parse(m.body),
  };
}

function tasks(app: App) {
  return {
    add: app.task('t.add', (_ctx, a: number, b: number) => a + b),
    mul: app.task('t.mul', (_ctx, a: number, b: number) => a * b),
    tsum: app.task('t.tsum', (_ctx, xs: number[]) => xs.reduce((s, x) => s + x, 0)),
    eb: app.task('t.eb', () => 'errback'),
  };
}

/** Lovage's messages and result ids normalised together, as Celery's are. */
function same(
  sent: Captured[],
  resultIds: string[],
  expected: { messages: Captured[] },
  celeryIds: string[],
) {
  const ours = new Map<string, string>();
  const theirs = new Map<string, string>();
  const a = normalise(sent, ours);
  const b = normalise(expected.messages, theirs);
  expect(a).toEqual(b);
  expect(normalise(resultIds, ours)).toEqual(normalise(celeryIds, theirs));
}

describe('canvas on the wire, as Celery 5.2.6 sends it', () => {
  it('a signature with options, link and link_error', async () => {
    const { h, sent } = recorded();
    const { add, eb } = tasks(h.app);
    const r = h.track(
      await add
        .s(2, 3)
        .set({ countdown: 10, priority: 3 })
        .link(h.app.signature('t.cb'))
        .linkError(eb.si())
        .applyAsync(),
    );
    const expected = celery.signature!;
    same(sent, [r.id], expected, [expected.result as string]);
  });

  it('a chain: the first step carries the rest reversed, each with its frozen id; the result links back', async () => {
    const { h, sent } = recorded();
    const { add } = tasks(h.app);
    const r = await chain(add.s(1, 2), add.s(3), add.s(4)).applyAsync();
    const expected = celery.chain!;
    const parents = [r.parent!.id, r.parent!.parent!.id];
    same(sent, [r.id, ...parents], expected, [expected.result as string, ...(expected.parents as string[])]);
    expect(r.parent!.parent!.parent).toBeNull();
  });

  it("a chain's link_error goes to every step", async () => {
    const { h, sent } = recorded();
    const { add, mul, eb } = tasks(h.app);
    const r = await chain(add.s(1, 1), mul.s(2)).linkError(eb.s()).applyAsync();
    same(sent, [r.id], celery.chain_link_error!, [celery.chain_link_error!.result as string]);
  });

  it('a group: each member with the group id, in one bulk publish; saved as Celery saves it', async () => {
    const { h, sent } = recorded();
    const { add } = tasks(h.app);
    const g = await group(add.s(1, 1), add.s(2, 2)).applyAsync();
    const expected = celery.group!;
    same(sent, [g.id, ...g.results.map((r) => r.id)], expected, [
      expected.result as string,
      ...(expected.members as string[]),
    ]);
    expect(h.app.broker.publishMany).toHaveBeenCalledTimes(1);
    await g.save();
    try {
      const saved = await h.app.backend!.getGroup!(g.id);
      expect(normalise(saved)).toEqual(normalise(expected.saved));
      const back = await h.app.restoreGroup(g.id);
      expect(back).toBeInstanceOf(GroupResult);
      expect(back!.results.map((r) => r.id)).toEqual(g.results.map((r) => r.id));
    } finally {
      await g.delete();
    }
    expect(await h.app.restoreGroup(g.id)).toBeNull();
  });

  it("a chord: the header's size recorded first, members with group_index and the body as chord", async () => {
    const { h, sent } = recorded();
    const { add, tsum } = tasks(h.app);
    const chordStart = vi.spyOn(h.app.backend!, 'chordStart');
    const r = await chord([add.s(1, 1), add.s(2, 2)], tsum.s()).applyAsync();
    const expected = celery.chord!;
    expect(r.parent).toBeInstanceOf(GroupResult);
    same(sent, [r.id, r.parent!.id], expected, [expected.result as string, expected.header as string]);
    expect(chordStart).toHaveBeenCalledWith(r.parent!.id, Number(expected.size));
    expect(chordStart.mock.invocationCallOrder[0]).toBeLessThan(
      vi.mocked(h.app.broker.publishMany).mock.invocationCallOrder[0]!,
    );
    await h.app.backend!.chordDone!(r.parent!.id);
  });

  it('a chain through a group to a step (a chord step), and a chain ending in a group', async () => {
    const { h, sent } = recorded();
    const { add, mul, tsum } = tasks(h.app);
    const r = await chain(add.s(1, 1), group(mul.s(2), mul.s(3)), tsum.s()).applyAsync();
    same(sent, [r.id], celery.chain_to_chord!, [celery.chain_to_chord!.result as string]);
    // The body's parent is the header, whose parent is the first step.
    expect(r.parent).toBeInstanceOf(GroupResult);
    expect(r.parent!.parent!.id).toBe((sent[0]!.headers as { id: string }).id);
    sent.length = 0;
    const g: GroupResult = await chain(add.s(1, 1), group(mul.s(2), mul.s(3))).applyAsync();
    same(sent, [g.id], celery.chain_to_group!, [celery.chain_to_group!.result as string]);
  });
});

describe('bad canvases are refused before anything is sent', () => {
  it('an unknown signature option, named with the closest known one', () => {
    const h = testApp();
    const { add } = tasks(h.app);
    expect(() => add.s(1, 2).set({ countdwn: 5 } as never)).toThrow(
      new ConfigError('signature t.add: unknown option countdwn (did you mean countdown?)'),
    );
    expect(() => h.app.signature('py.x', [], {}, { task_id: 'x' } as never)).toThrow(/did you mean taskId\?/);
    expect(() => add.s(1).set({ priority: -1 })).toThrow(/option priority/);
  });

  it('a chord with an empty header, an empty group or chain', async () => {
    const { h, sent } = recorded();
    const { tsum } = tasks(h.app);
    await expect(chord([], tsum.s()).applyAsync()).rejects.toThrow(
      /a chord needs at least one header task \(the header is empty\)/,
    );
    expect(() => group()).toThrow(/a group needs at least one task/);
    expect(() => (chain as (...steps: unknown[]) => unknown)()).toThrow(/a chain needs at least one task/);
    expect(sent).toEqual([]);
    expect(await h.app.broker.queueLength(h.queue)).toBe(0);
  });

  it('arguments that are not JSON, naming the task and the value; no chord size recorded', async () => {
    const { h, sent } = recorded();
    const { add, tsum } = tasks(h.app);
    const chordStart = vi.spyOn(h.app.backend!, 'chordStart');
    const err = await chord([add.s(1, 1), add.s(2, 10n as never)], tsum.s())
      .applyAsync()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncodeError);
    expect((err as Error).message).toMatch(/^t\.add \(message 1\): .*args\[1\]/);
    expect(chordStart).not.toHaveBeenCalled();
    const inChain = await chain(add.s(1, 1), add.s({ at: new Map() } as never))
      .applyAsync()
      .catch((e: unknown) => e);
    expect(inChain).toBeInstanceOf(EncodeError);
    expect(sent).toEqual([]);
    expect(await h.app.broker.queueLength(h.queue)).toBe(0);
  });

  it('nestings Lovage workers do not run, each with what to do instead', async () => {
    const { h, sent } = recorded();
    const { add, mul, tsum } = tasks(h.app);
    const refusals: [string, () => Promise<unknown>][] = [
      ['more steps after it', () => chain(add.s(1, 1), group(mul.s(2)), tsum.s(), add.s(1)).applyAsync()],
      ['more steps after it', () => chain(chord([add.s(1, 1)], tsum.s()), add.s(1)).applyAsync()],
      ["a chain as a chord's body", () => chord([add.s(1, 1)], chain(tsum.s(), add.s(1))).applyAsync()],
      [
        "a chord inside a chord's header",
        () => chord([chord([add.s(1, 1)], tsum.s())], tsum.s()).applyAsync(),
      ],
      ['a chord inside a group', () => group(add.s(1, 1), chord([add.s(1, 1)], tsum.s())).applyAsync()],
      [
        'a chain sent by a worker',
        () =>
          add
            .s(1, 1)
            .link(chain(add.s(1), add.s(2)))
            .applyAsync(),
      ],
      ['a chain sent by a worker', () => chain(add.s(1, 1), group(chain(add.s(1), add.s(2)))).applyAsync()],
    ];
    for (const [message, send] of refusals) {
      const err = await send().catch((e: unknown) => e);
      expect(err, message).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).toContain('is not run by Lovage workers');
    }
    expect(sent).toEqual([]);
  });
});

describe('result graph', () => {
  it('reads children and a saved group back from Celery result tuples', async () => {
    const h = testApp();
    const id = h.track({ id: randomUUID() }).id;
    const [a, b, g] = [randomUUID(), randomUUID(), randomUUID()];
    const children = [
      [[a, [[id, null], null]], null],
      [[g, null], [[[b, null], null]]],
    ];
    await h.app.backend!.store(id, 'SUCCESS', '1', { children });
    const [first, second] = await h.app.asyncResult(id).children();
    expect(first).toMatchObject({ id: a });
    expect(first!.parent!.id).toBe(id);
    expect(second).toBeInstanceOf(GroupResult);
    expect((second as GroupResult).results.map((r) => r.id)).toEqual([b]);
    expect(await h.app.asyncResult(randomUUID()).children()).toEqual([]);
    await h.app.backend!.saveGroup!(g, JSON.stringify({ result: [[g, null], [[[a, null], null]]] }));
    try {
      expect((await h.app.restoreGroup(g))!.results.map((r) => r.id)).toEqual([a]);
    } finally {
      await h.app.backend!.deleteGroup!(g);
    }
    expect(groupKey(g)).toBe(`celery-taskset-meta-${g}`);
  });
});
