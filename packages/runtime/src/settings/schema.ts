/**
 * Worker settings the console edits, as one zod schema shared by the console's form (client and server) and
 * the worker that applies them. Pure: no Redis or Node imports, so the browser bundle can use it
 * (`@lovage/runtime/settings`).
 *
 * Every field is optional: an absent field means "the app's default". Each says how it applies:
 * `live` fields are pushed to running workers by remote control, `restart` fields are read when a worker
 * starts. Precedence on a worker: its CLI flags, then these stored settings, then the app's defaults.
 */
import { z } from 'zod';

const RATE = /^\d+(\.\d+)?(\/[smh])?$/;
const seconds = (max: number) =>
  z
    .number({ error: 'must be a number of seconds' })
    .positive('must be more than 0 seconds')
    .max(max, `must be at most ${max} seconds`);

/** A whole number; text that is not one (NaN from a form) gets this message, not zod's type jargon. */
const whole = (what = 'a whole number') => z.number({ error: `must be ${what}` }).int(`must be ${what}`);

export const rateLimitSchema = z
  .string({ error: 'must look like 10/s, 100/m or 1000/h' })
  .trim()
  .regex(RATE, 'must look like 10/s, 100/m or 1000/h')
  .refine((v) => parseFloat(v) > 0, 'must be more than 0');

export const taskLimitsSchema = z
  .object({
    rateLimit: rateLimitSchema.nullable().optional(),
    timeLimit: seconds(86_400).nullable().optional(),
    softTimeLimit: seconds(86_400).nullable().optional(),
  })
  .strict()
  .refine((t) => !(t.timeLimit && t.softTimeLimit && t.softTimeLimit >= t.timeLimit), {
    message: 'the soft time limit must be below the hard time limit',
    path: ['softTimeLimit'],
  });

export const POOL_KINDS = ['prefork', 'threads', 'async'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

export const workerSettingsSchema = z
  .object({
    pool: z.enum(POOL_KINDS, { error: 'must be prefork, threads or async' }).optional(),
    concurrency: whole().min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
    prefetchMultiplier: whole().min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
    /** Defaults for every task without its own limit. */
    timeLimit: seconds(86_400).nullable().optional(),
    softTimeLimit: seconds(86_400).nullable().optional(),
    /** Per task name. */
    taskLimits: z.record(z.string().min(1, 'a task name is required'), taskLimitsSchema).optional(),
    visibilityTimeout: seconds(86_400).optional(),
    acksLate: z.boolean({ error: 'must be on or off' }).optional(),
    maxRetries: whole().min(0, 'must be 0 or more').nullable().optional(),
    defaultRetryDelay: z
      .number({ error: 'must be a number of seconds' })
      .min(0, 'must be 0 or more')
      .max(86_400 * 7, 'must be at most a week')
      .optional(),
    resultExpires: seconds(86_400 * 365)
      .nullable()
      .optional(),
    maxTasksPerChild: whole().min(1, 'must be at least 1').nullable().optional(),
    maxMemoryPerChild: whole('a whole number (MB)').min(16, 'must be at least 16 MB').nullable().optional(),
  })
  .strict()
  .refine((s) => !(s.timeLimit && s.softTimeLimit && s.softTimeLimit >= s.timeLimit), {
    message: 'the soft time limit must be below the hard time limit',
    path: ['softTimeLimit'],
  });

export type WorkerSettings = z.infer<typeof workerSettingsSchema>;
export type TaskLimits = z.infer<typeof taskLimitsSchema>;
export type SettingKey = keyof WorkerSettings;

/** How each setting reaches a running worker. */
export const SETTING_APPLIES: Record<SettingKey, 'live' | 'restart'> = {
  pool: 'restart',
  concurrency: 'live',
  prefetchMultiplier: 'restart',
  timeLimit: 'live',
  softTimeLimit: 'live',
  taskLimits: 'live',
  visibilityTimeout: 'restart',
  acksLate: 'restart',
  maxRetries: 'restart',
  defaultRetryDelay: 'restart',
  resultExpires: 'restart',
  maxTasksPerChild: 'restart',
  maxMemoryPerChild: 'restart',
};

/** One stored version of the settings. */
export interface SettingsVersion {
  version: number;
  settings: WorkerSettings;
  /** ISO time. */
  updatedAt: string;
  /** Who saved it (the console's user e-mail), or null. */
  updatedBy: string | null;
}
