/** Task indexes under unique prefixes, deleted after each test, and a terse event builder. */
import { afterEach } from 'vitest';
import {
  eventCommon,
  makeEvent,
  TaskIndex,
  type CeleryEvent,
  type CeleryEventType,
  type TaskIndexOptions,
} from '../../src';
import { STATE_URL, deleteMatching, uniquePrefix } from '../helpers';

export function useIndexes(): (opts?: TaskIndexOptions) => TaskIndex {
  const made: { index: TaskIndex; prefix: string }[] = [];
  afterEach(async () => {
    for (const { index, prefix } of made.splice(0)) {
      await index.close();
      await deleteMatching(STATE_URL, `${prefix}*`);
    }
  });
  return (opts = {}) => {
    const prefix = opts.prefix ?? uniquePrefix();
    const index = new TaskIndex(STATE_URL, { ...opts, prefix });
    made.push({ index, prefix });
    return index;
  };
}

/** Seconds: event times in tests are T0 + offset, a minute ago. */
export const T0 = Math.floor(Date.now() / 1000) - 60;

/** An event at T0 + `at` seconds, sent by `hostname`. */
export function ev(
  type: CeleryEventType,
  uuid: string,
  at: number,
  fields: Record<string, unknown> = {},
  hostname = 'w1@test',
): CeleryEvent {
  return makeEvent(type, eventCommon(hostname, 1), { uuid, ...fields, timestamp: T0 + at });
}

export const received = (uuid: string, at: number, fields: Record<string, unknown> = {}, host?: string) =>
  ev(
    'task-received',
    uuid,
    at,
    {
      name: 'proj.add',
      args: '(2, 3)',
      kwargs: '{}',
      root_id: uuid,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
      ...fields,
    },
    host,
  );

/** Every ordering of `items` (n! of them). */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]),
  );
}

/** A deterministic shuffle (mulberry32), so a failing ordering can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
