/**
 * Task events are bounded in size as Celery bounds them (argsrepr_maxsize, kwargsrepr_maxsize,
 * resultrepr_maxsize: 1024 characters, through saferepr): a 10 MB result or 100,000 arguments make an event of
 * a few KB, which Python Celery's event state (what `celery events` and Flower fold) still reads. A real
 * worker with task events on, against the real Redis; every message on the prefix's celeryev channels read raw.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { boundEventFields, pyRepr, saferepr, type CeleryEvent } from '../../src';
import { REDIS_URL, useTestApps, waitFor } from '../helpers';

const PYTHON = '/usr/bin/python3'; // the python3 on PATH has no celery

describe('saferepr', () => {
  it('is pyRepr for what fits, and cuts what does not while walking it, closing what is open', () => {
    const small = { a: [1, 'x', null, true], 'b c': { d: 2.5 } };
    expect(saferepr(small)).toBe(pyRepr(small));
    expect(saferepr([1, 2, 3, 4], 5)).toBe('[1, 2...]');
    expect(saferepr({ k: 'abcdefgh' }, 8)).toBe("{'k': 'a...}");
    const huge = saferepr('x'.repeat(10_000_000));
    expect(huge.length).toBeLessThanOrEqual(1024 + 3);
    expect(huge.startsWith("'xxx")).toBe(true);
    expect(saferepr(Array.from({ length: 100_000 }, (_, i) => i)).length).toBeLessThanOrEqual(1024 + 4);
  });
});

describe('boundEventFields', () => {
  it("cuts reprs at 1024 characters, keeps a traceback's end, and leaves out argument JSON too large to keep", () => {
    const tb = `Traceback (most recent call last):\n${'  frame\n'.repeat(10_000)}ValueError: boom`;
    const fields = boundEventFields({
      uuid: 'id',
      args: `(${'1, '.repeat(2000)})`,
      result: { big: 'y'.repeat(5000) },
      exception: "ValueError('boom')",
      traceback: tb,
      args_json: JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i)),
      kwargs_json: '{"k":1}',
    });
    expect(String(fields.args)).toHaveLength(1024 + 3);
    expect(String(fields.result).length).toBeLessThanOrEqual(1024 + 4);
    expect(String(fields.result).startsWith("{'big': 'yyy")).toBe(true);
    expect(fields.exception).toBe("ValueError('boom')");
    expect(String(fields.traceback)).toHaveLength(16384);
    expect(String(fields.traceback).endsWith('ValueError: boom')).toBe(true);
    expect(fields).not.toHaveProperty('args_json');
    expect(fields.kwargs_json).toBe('{"k":1}');
    expect(fields.uuid).toBe('id');
  });
});

describe('task events of a Lovage worker', () => {
  const testApp = useTestApps();
  const subs: Redis[] = [];
  afterEach(() => {
    for (const s of subs.splice(0)) s.disconnect();
  });

  it('stay a few KB with a 10 MB result and 100,000 arguments, and Python Celery folds them', async () => {
    const t = testApp({ broker: REDIS_URL });
    t.app.task('bounded.big', () => 'x'.repeat(10_000_000));
    t.app.task('bounded.many', (_ctx, ...items: number[]) => items.length);
    const events: CeleryEvent[] = [];
    const sub = new Redis(REDIS_URL);
    subs.push(sub);
    sub.on('pmessage', (_p: string, _c: string, raw: string) => {
      const envelope = JSON.parse(raw) as { body: string };
      const body = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as unknown;
      events.push(...((Array.isArray(body) ? body : [body]) as CeleryEvent[]));
    });
    await sub.psubscribe(`${t.prefix}/0.celeryev/*`);
    await t.startWorker({ taskEvents: true, hostname: `bounded-${t.queue}@test` });

    const big = t.track(await t.app.sendTask('bounded.big', []));
    const many = t.track(
      await t.app.sendTask(
        'bounded.many',
        Array.from({ length: 100_000 }, (_, i) => i),
      ),
    );
    expect(await big.get({ timeout: 20 })).toHaveLength(10_000_000);
    expect(await many.get({ timeout: 20 })).toBe(100_000);
    const find = (type: string, id: string) => events.find((e) => e.type === type && e.uuid === id);
    const [succeeded, received] = await waitFor(() => {
      const s = find('task-succeeded', big.id);
      const r = find('task-received', many.id);
      return s && r ? [s, r] : undefined;
    });

    expect(JSON.stringify(succeeded).length).toBeLessThan(2048);
    expect(String(succeeded.result).length).toBeLessThanOrEqual(1024 + 3);
    expect(JSON.stringify(received).length).toBeLessThan(4096);
    expect(received.args_json).toBeUndefined(); // too large to keep; a cut JSON is useless

    // Python Celery's events state folds them (the core of `celery events` and Flower).
    const fold = [
      'import json, sys',
      'from celery.events.state import State',
      'state = State()',
      // Celery's EventReceiver stamps local_received on each event it reads off the wire.
      'for event in json.load(sys.stdin): state.event(dict(event, local_received=event["timestamp"]))',
      'print(json.dumps({u: [t.state, len(t.result or ""), t.name] for u, t in state.tasks.items()}))',
    ].join('\n');
    const all = events.filter((e) => e.uuid === big.id || e.uuid === many.id);
    const py = spawnSync(PYTHON, ['-c', fold], { input: JSON.stringify(all), encoding: 'utf8' });
    expect(py.stderr).toBe('');
    const folded = JSON.parse(py.stdout) as Record<string, [string, number, string]>;
    expect(folded[big.id]).toEqual(['SUCCESS', String(succeeded.result).length, 'bounded.big']);
    expect(folded[many.id]).toEqual(['SUCCESS', 6, 'bounded.many']);
  });
});
