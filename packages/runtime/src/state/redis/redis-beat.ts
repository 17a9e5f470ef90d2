/**
 * Beat's records in Redis: the leader lease (`<prefix>lovage:beat:lease`, `SET NX PX` and a compare-and-
 * renew script) and each entry's timing (`<prefix>lovage:beat:entries`), changed only by the fenced claim
 * script, which refuses a beat that lost the lease. Beside them the entries themselves
 * (`lovage:beat:defs`: code entries beat published, console entries), the disabled names
 * (`lovage:beat:disabled`), a change counter beats poll (`lovage:beat:version`), each entry's capped run
 * history (`lovage:beat:runs:<name>`) and where the beat's app routes tasks (`lovage:beat:routes`).
 */
import type { Redis } from 'ioredis';
import { loadLua } from '../../redis/scripts';
import {
  BEAT_HISTORY_LENGTH,
  type BeatEntryState,
  type BeatRoutes,
  type BeatRun,
  type BeatStore,
  type ClaimOutcome,
  type DefineOutcome,
  type StoredBeatEntry,
} from '../state';

const DIR = new URL('./scripts/', import.meta.url);
const LEASE = loadLua(DIR, 'beat-lease');
const RELEASE = loadLua(DIR, 'beat-release');
const CLAIM = loadLua(DIR, 'beat-claim');
const DEFINE = loadLua(DIR, 'beat-define');
const PUBLISH = loadLua(DIR, 'beat-publish');
const ENABLE = loadLua(DIR, 'beat-enable');

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
  lovageBeatDefine(...args: string[]): Promise<number>;
  lovageBeatPublish(
    defs: string,
    version: string,
    routes: string,
    wanted: string,
    now: number,
    routesJson: string,
  ): Promise<number>;
  lovageBeatEnable(
    defs: string,
    version: string,
    disabled: string,
    name: string,
    on: string,
  ): Promise<number>;
};

const OUTCOMES: Record<number, ClaimOutcome> = { 1: 'claimed', 0: 'changed', [-1]: 'not-leader' };
const DEFINED: Record<number, DefineOutcome> = { 1: 'ok', 0: 'exists', [-1]: 'missing', [-2]: 'code' };

export function redisBeatStore(redis: Redis, prefix: string): BeatStore {
  redis.defineCommand('lovageBeatLease', { numberOfKeys: 1, lua: LEASE });
  redis.defineCommand('lovageBeatRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('lovageBeatClaim', { numberOfKeys: 2, lua: CLAIM });
  redis.defineCommand('lovageBeatDefine', { numberOfKeys: 5, lua: DEFINE });
  redis.defineCommand('lovageBeatPublish', { numberOfKeys: 3, lua: PUBLISH });
  redis.defineCommand('lovageBeatEnable', { numberOfKeys: 3, lua: ENABLE });
  const r = redis as Scripted;
  const lease = `${prefix}lovage:beat:lease`;
  const entries = `${prefix}lovage:beat:entries`;
  const defs = `${prefix}lovage:beat:defs`;
  const version = `${prefix}lovage:beat:version`;
  const disabled = `${prefix}lovage:beat:disabled`;
  const routes = `${prefix}lovage:beat:routes`;
  const runs = (name: string) => `${prefix}lovage:beat:runs:${name}`;
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
    async publishCode(code, appRoutes) {
      const wanted = Object.fromEntries(Object.entries(code).map(([n, d]) => [n, JSON.stringify(d)]));
      await r.lovageBeatPublish(
        defs,
        version,
        routes,
        JSON.stringify(wanted),
        Date.now(),
        JSON.stringify(appRoutes),
      );
    },
    async routes() {
      const json = await r.get(routes);
      return json === null ? null : (JSON.parse(json) as BeatRoutes);
    },
    async definitions() {
      const all = await r.hgetall(defs);
      const out: Record<string, StoredBeatEntry> = {};
      for (const [name, json] of Object.entries(all)) out[name] = JSON.parse(json) as StoredBeatEntry;
      return out;
    },
    async define(name, mode, definition, by) {
      const stored: StoredBeatEntry | null = definition && {
        source: 'console',
        definition,
        updatedAt: Date.now(),
        updatedBy: by,
      };
      const keys = [defs, version, entries, disabled, runs(name)];
      const outcome = await r.lovageBeatDefine(...keys, name, mode, stored ? JSON.stringify(stored) : '');
      return DEFINED[outcome]!;
    },
    async setEnabled(name, enabled) {
      return (await r.lovageBeatEnable(defs, version, disabled, name, enabled ? '1' : '0')) === 1;
    },
    disabled: () => r.smembers(disabled),
    async version() {
      return Number((await r.get(version)) ?? 0);
    },
    async record(name, run) {
      await r
        .multi()
        .lpush(runs(name), JSON.stringify(run))
        .ltrim(runs(name), 0, BEAT_HISTORY_LENGTH - 1)
        .exec();
    },
    async history(name, limit = BEAT_HISTORY_LENGTH) {
      const list = await r.lrange(runs(name), 0, Math.max(0, limit - 1));
      return list.map((json) => JSON.parse(json) as BeatRun);
    },
  };
}
