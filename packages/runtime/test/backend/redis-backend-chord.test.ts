/**
 * Chord counting on the Redis result backend, as Celery 5.2.6's `on_chord_part_return` (result_chord_ordered):
 * the parts in the `celery-taskset-meta-<gid>.j` zset scored by group_index, complete when their count reaches
 * the size the client wrote to `.s` plus `.t`; the keys expire with the results and go once the body was sent.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChordPart } from '../../src';
import { RedisResultBackend } from '../../src/adapters/redis';
import { BACKEND_URL } from '../helpers';

const backend = new RedisResultBackend(BACKEND_URL, { resultExpires: 86400 });
const raw = new Redis(BACKEND_URL);
const groups: string[] = [];
const key = (gid: string, suffix: string) => `celery-taskset-meta-${gid}${suffix}`;

afterAll(async () => {
  for (const gid of groups) await raw.del(key(gid, '.j'), key(gid, '.t'), key(gid, '.s'));
  raw.disconnect();
  await backend.close();
});

async function chord(size: number | null): Promise<string> {
  const gid = `chord-${randomUUID()}`;
  groups.push(gid);
  if (size !== null) await raw.set(key(gid, '.s'), String(size));
  return gid;
}

const part = (groupId: string, i: number | null, status = 'SUCCESS', resultJson = String(i)): ChordPart => ({
  groupId,
  taskId: `t${i}`,
  groupIndex: i,
  status,
  resultJson,
});

describe('RedisResultBackend chord counting', () => {
  it('completes on the last part, with every part in header order, in Celery member encoding', async () => {
    const gid = await chord(3);
    expect(await backend.chordPartReturn(part(gid, 2))).toBeNull();
    expect(await backend.chordPartReturn(part(gid, 0, 'FAILURE', '{"exc_type": "ValueError"}'))).toBeNull();
    expect(await raw.zrange(key(gid, '.j'), 0, -1, 'WITHSCORES')).toEqual([
      '[1, "t0", "FAILURE", {"exc_type": "ValueError"}]',
      '0',
      '[1, "t2", "SUCCESS", 2]',
      '2',
    ]);
    expect(await backend.chordPartReturn(part(gid, 1))).toEqual([
      { taskId: 't0', status: 'FAILURE', result: { exc_type: 'ValueError' } },
      { taskId: 't1', status: 'SUCCESS', result: 1 },
      { taskId: 't2', status: 'SUCCESS', result: 2 },
    ]);
    const ttl = await raw.ttl(key(gid, '.j'));
    expect(ttl).toBeGreaterThan(86_000);
    await backend.chordDone(gid);
    expect(await raw.exists(key(gid, '.j'), key(gid, '.s'))).toBe(0);
  });

  it('counts parts added to a running chord (.t), sorts a part without index last, waits without a size', async () => {
    const gid = await chord(1);
    await raw.set(key(gid, '.t'), '1');
    expect(await backend.chordPartReturn(part(gid, null))).toBeNull();
    const done = await backend.chordPartReturn(part(gid, 0));
    expect(done?.map((e) => e.taskId)).toEqual(['t0', 'tnull']);

    const unsized = await chord(null);
    expect(await backend.chordPartReturn(part(unsized, 0))).toBeNull();
  });
});
