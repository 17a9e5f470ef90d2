/**
 * The result backend's bulk reads, which a monitor's repair uses instead of a Redis client of its own:
 * `getMany` (in order, null for nothing or garbage) and `scanIds` (a walk over every stored result).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, createResultBackend, resultKey } from '../../src';
import { BACKEND_URL, deleteResults } from '../helpers';

const backend = createResultBackend(BACKEND_URL);
const ids = Array.from({ length: 3 }, () => `read-${randomUUID()}`);
afterAll(async () => {
  await deleteResults(ids);
  await backend.close();
});

describe('RedisResultBackend bulk reads', () => {
  it('getMany answers in order: the meta, null for nothing stored, null for a value that is not a meta', async () => {
    await backend.store(ids[0]!, 'SUCCESS', '42');
    const raw = new Redis(BACKEND_URL);
    await raw.set(resultKey(ids[2]!), 'not json');
    raw.disconnect();
    const metas = await backend.getMany(ids);
    expect(metas.map((m) => m?.status ?? null)).toEqual(['SUCCESS', null, null]);
    expect(metas[0]?.result).toBe(42);
    expect(await backend.getMany([])).toEqual([]);
  });

  it('scanIds walks every stored result from cursor 0 back to 0', async () => {
    await backend.store(ids[1]!, 'FAILURE', '{"exc_type": "ValueError", "exc_message": ["x"]}');
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const step = await backend.scanIds(cursor, 500);
      cursor = step.cursor;
      for (const id of step.ids) seen.add(id);
    } while (cursor !== '0');
    expect(seen.has(ids[0]!)).toBe(true);
    expect(seen.has(ids[1]!)).toBe(true);
  });

  it('createResultBackend refuses a URL no backend takes', () => {
    expect(() => createResultBackend('http://127.0.0.1:6379')).toThrow(ConfigError);
  });
});
