import 'server-only';
import { isDeepStrictEqual } from 'node:util';
import {
  SETTING_APPLIES,
  type SettingKey,
  type SettingsVersion,
  type WorkerSettings,
} from '@lovage/runtime/settings';
import { LovageError } from '../../runtime';
import { adminProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { maskSecrets } from '../../presenters/mask';
import { updateSettingsInput } from './update-settings.schema';

export interface ApplyReply {
  hostname: string;
  ok: boolean;
  applied: string[];
  restartRequired: string[];
  version: number | null;
  error: string | null;
}

function changedKeys(before: WorkerSettings | undefined, after: WorkerSettings): SettingKey[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]) as Set<SettingKey>;
  return [...keys].filter((k) => JSON.stringify(before?.[k]) !== JSON.stringify(after[k])).sort();
}

function readReply(hostname: string, raw: unknown): ApplyReply {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  const error = typeof r.error === 'string' ? r.error : null;
  return {
    hostname,
    ok: r.ok === true || (typeof r.ok === 'string' && error === null),
    applied: list(r.applied),
    restartRequired: list(r.restartRequired),
    version: typeof r.version === 'number' ? r.version : null,
    error,
  };
}

const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/**
 * The version this very save already made: the one right after the form's base, holding the same
 * settings. A resubmission (double click, a request retried under load) then answers with it instead of a
 * conflict.
 */
function alreadySaved(current: SettingsVersion | null, expectedVersion: number, settings: WorkerSettings) {
  if (!current || current.version !== expectedVersion + 1) return null;
  if (!isDeepStrictEqual(asJson(current.settings), asJson(settings))) return null;
  return {
    version: current.version,
    changed: [] as SettingKey[],
    liveChanged: [] as SettingKey[],
    restartChanged: [] as SettingKey[],
    replies: [] as ApplyReply[],
    message: `Saved as version ${current.version}${current.updatedBy ? ` by ${current.updatedBy}` : ''}; this identical save changed nothing.`,
  };
}

/**
 * Saves the settings as a new version in Redis (compare-and-set on the version the form started from),
 * keeps the audit copy in the database, then tells running workers to apply it: `live` fields take
 * effect at once, `restart` fields at each worker's next start.
 */
export const updateSettings = adminProcedure.input(updateSettingsInput).mutation(async ({ ctx, input }) => {
  const { lovage, prisma } = ctx.services;
  const before = await lovage.settings.current();
  // Saved already (a repeated request): nothing to do and nothing new to audit.
  const repeated = alreadySaved(before, input.expectedVersion, input.settings);
  if (repeated) return repeated;
  return audited(
    ctx.services,
    ctx.user,
    {
      action: 'settings.update',
      target: `version ${input.expectedVersion + 1}`,
      before: before?.settings ?? null,
      reason: input.reason ?? null,
    },
    async () => {
      const saved = await lovage.settings
        .save(input.settings, { expectedVersion: input.expectedVersion, updatedBy: ctx.user.email })
        .catch(async (err: unknown) => {
          // Two identical requests at once: the one that lost the compare-and-set finds its own change saved.
          if (!(err instanceof LovageError && err.code === 'SETTINGS_CONFLICT')) throw err;
          const twin = alreadySaved(await lovage.settings.current(), input.expectedVersion, input.settings);
          if (twin) return twin;
          throw err;
        });
      if ('message' in saved) {
        return { result: saved, after: input.settings, detail: { version: saved.version, repeated: true } };
      }
      await prisma.settingsVersion.createMany({
        data: [
          {
            version: saved.version,
            settings: JSON.parse(JSON.stringify(maskSecrets(saved.settings))),
            createdAt: new Date(saved.updatedAt),
            createdBy: ctx.user.email,
            reason: input.reason?.trim() || null,
          },
        ],
        skipDuplicates: true,
      });
      const changed = changedKeys(before?.settings, saved.settings);
      const alive = (await lovage.taskIndex.workers().catch(() => [])).filter((w) => w.alive).length;
      const replies = await lovage.app.control
        .applySettings(saved.version, { timeout: 2, ...(alive > 0 ? { limit: alive } : {}) })
        .then((rs) => rs.flatMap((r) => Object.entries(r).map(([h, v]) => readReply(h, v))))
        .catch((err: Error) => [
          { hostname: '*', ok: false, applied: [], restartRequired: [], version: null, error: err.message },
        ]);
      const failed = replies.filter((r) => !r.ok);
      const liveChanged = changed.filter((k) => SETTING_APPLIES[k] === 'live');
      const restartChanged = changed.filter((k) => SETTING_APPLIES[k] === 'restart');
      const message =
        `Saved as version ${saved.version}. ` +
        (replies.length === 0
          ? 'No running worker answered; workers read it when they start.'
          : `${replies.length - failed.length} of ${replies.length} running workers applied it` +
            (failed.length
              ? `; failed: ${failed.map((f) => `${f.hostname} (${f.error ?? 'not ok'})`).join(', ')}.`
              : '.')) +
        (restartChanged.length ? ` Applies at the next worker start: ${restartChanged.join(', ')}.` : '');
      return {
        result: { version: saved.version, changed, liveChanged, restartChanged, replies, message },
        after: saved.settings,
        outcome: failed.length ? 'partial' : 'ok',
        detail: { version: saved.version, changed, replies },
      };
    },
  );
});
