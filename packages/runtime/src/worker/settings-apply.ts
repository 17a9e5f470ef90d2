/**
 * Applying a stored settings version to a running worker. Live settings (concurrency, time and rate limits)
 * change at once; the rest need a restart, and the report says which. Values pinned by the worker's CLI
 * flags are never overridden: the console shows them as drift.
 */
import { SETTING_APPLIES, type SettingKey, type WorkerSettings } from '../settings/schema';
import type { SettingsReport, WorkerControl } from './types';

export type { SettingsReport } from './types';

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export async function applyStoredSettings(w: WorkerControl): Promise<SettingsReport> {
  const source = w.settingsSource;
  if (!source) return { version: null, applied: [], restartRequired: [], pinned: [] };
  const stored = await source.store.current();
  if (stored && stored.version < source.version) {
    // Never backwards: a read older than what runs here (a lagging replica) changes nothing.
    const report = { version: source.version, applied: [], restartRequired: [], pinned: [...source.pinned] };
    w.log.warn(
      { stored: stored.version, running: source.version },
      'stored settings older than running: kept',
    );
    return report;
  }
  const next: WorkerSettings = stored?.settings ?? {};
  const applied: SettingKey[] = [];
  const restartRequired: SettingKey[] = [];
  const pinned = new Set(source.pinned);
  const keys = new Set([...Object.keys(next), ...Object.keys(w.settings)] as SettingKey[]);
  const running: WorkerSettings = { ...w.settings, concurrency: w.concurrency, pool: w.pool.kind };
  const updated: Record<string, unknown> = { ...w.settings };

  for (const key of keys) {
    if (pinned.has(key)) continue;
    const value = next[key];
    if (same(value, running[key])) continue;
    if (SETTING_APPLIES[key] === 'restart') {
      if (value !== undefined) restartRequired.push(key);
      continue;
    }
    if (key === 'concurrency') {
      if (value !== undefined) await w.setConcurrency(value as number);
    } else if (key === 'taskLimits') {
      const limits = (value ?? {}) as NonNullable<WorkerSettings['taskLimits']>;
      for (const name of new Set([...w.taskLimits.keys(), ...Object.keys(limits)])) {
        const l = limits[name] ?? {};
        w.setRateLimit(name, l.rateLimit);
        w.setTimeLimits(name, l.timeLimit ?? null, l.softTimeLimit ?? null);
      }
    }
    updated[key] = value;
    applied.push(key);
  }
  w.settings = updated as WorkerSettings;
  source.version = stored?.version ?? source.version;
  const report = { version: source.version, applied, restartRequired, pinned: [...pinned] };
  w.log.info(report, 'stored settings applied');
  w.emit('settings-applied', report);
  return report;
}
