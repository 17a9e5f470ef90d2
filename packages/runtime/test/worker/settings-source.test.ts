/**
 * The worker reads stored settings through an interface (`current()`), not the Redis `SettingsStore`: any
 * source will do. Without the interface this file does not typecheck (`npm run typecheck`).
 */
import { describe, expect, it } from 'vitest';
import type { SettingsVersion } from '../../src';
import { useTestApps } from '../helpers';

describe('settings source', () => {
  const createTestApp = useTestApps();

  it('apply_settings applies what a source other than the Redis store holds', async () => {
    const t = createTestApp();
    t.app.task('src.t', () => 1);
    const stored: SettingsVersion = {
      version: 2,
      settings: { taskLimits: { 'src.t': { rateLimit: '5/s' } } },
      updatedAt: new Date().toISOString(),
      updatedBy: null,
    };
    const worker = t.worker({
      concurrency: 1,
      settingsSource: { store: { current: () => Promise.resolve(stored) }, version: 1, pinned: [] },
    });
    expect(await worker.applySettings()).toEqual({
      version: 2,
      applied: ['taskLimits'],
      restartRequired: [],
      pinned: [],
    });
    expect(worker.taskLimits.get('src.t')?.rateLimit).toBe('5/s');
  });
});
