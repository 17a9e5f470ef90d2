/**
 * Beat's records in Redis: the leader lease (`<prefix>lovage:beat:lease`, `SET NX PX` and a compare-and-
 * renew script) and each entry's timing (`<prefix>lovage:beat:entries`), changed only by the fenced claim
 * script, which refuses a beat that lost the lease.
 */
import type { Redis } from 'ioredis';
import { loadLua } from '../../redis/scripts';
import type { BeatEntryState, BeatStore, ClaimOutcome } from '../state';

const DIR = new URL('./scripts/', import.meta.url);
const LEASE = loadLua(DIR, 'beat-lease');
const RELEASE = loadLua(DIR, 'beat-release');
const CLAIM = loadLua(DIR, 'beat-claim');

type Scripted = Redis & {
  lovageBeatLease(lease: string, token: string, ttlMs: number): Promise<number>;
  lovageBeatRelease(lease: string, token: string): Promise<number>;
  lovageBeatClaim(
    lease: string,
    entries: string,
    token: string,
    name: string,
    expected: string,
    next: string,
  ): Promise<number>;
};

const OUTCOMES: Record<number, ClaimOutcome> = { 1: 'claimed', 0: 'changed', [-1]: 'not-leader' };

export function redisBeatStore(redis: Redis, prefix: string): BeatStore {
  redis.defineCommand('lovageBeatLease', { numberOfKeys: 1, lua: LEASE });
  redis.defineCommand('lovageBeatRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('lovageBeatClaim', { numberOfKeys: 2, lua: CLAIM });
  const r = redis as Scripted;
  const lease = `${prefix}lovage:beat:lease`;
  const entries = `${prefix}lovage:beat:entries`;
  return {
    async lease(token, ttlMs) {
      return (await r.lovageBeatLease(lease, token, Math.ceil(ttlMs))) === 1;
    },
    async release(token) {
      return (await r.lovageBeatRelease(lease, token)) === 1;
    },
    holder: () => r.get(lease),
    async entries() {
      const all = await r.hgetall(entries);
      const out: Record<string, BeatEntryState> = {};
      for (const [name, json] of Object.entries(all)) out[name] = JSON.parse(json) as BeatEntryState;
      return out;
    },
    async read(name) {
      const json = await r.hget(entries, name);
      return json === null ? null : (JSON.parse(json) as BeatEntryState);
    },
    async claim(token, name, expected, next) {
      // Stored text is always JSON.stringify of a parsed BeatEntryState, so re-stringifying what `read`
      // returned gives the same text: any change since (another beat's claim) refuses this one.
      const was = expected === null ? '' : JSON.stringify(expected);
      return OUTCOMES[await r.lovageBeatClaim(lease, entries, token, name, was, JSON.stringify(next))]!;
    },
  };
}
