/**
 * Beat's schedules (Celery's `beat_schedule` entries): an interval in seconds, a five-field cron expression
 * or `crontab({...})`, read in the app's `timezone`. Cron patterns are parsed and stepped by croner; this
 * file only validates them and says how a due time follows another.
 */
import { Cron } from 'croner';
import { z } from 'zod';

/** Celery's `crontab(minute=…, hour=…)`: each field a cron field, `*` when left out. */
export interface CrontabFields {
  minute?: string | number;
  hour?: string | number;
  /** 0-6 (0 is Sunday) or names (`mon-fri`). Celery: day_of_week. */
  dayOfWeek?: string | number;
  /** Celery: day_of_month. */
  dayOfMonth?: string | number;
  /** Celery: month_of_year. */
  monthOfYear?: string | number;
}

const CRONTAB = Symbol.for('lovage.crontab');

export interface Crontab {
  readonly [CRONTAB]: true;
  /** The five-field cron expression the fields make. */
  readonly expression: string;
}

/** `crontab({ minute: 0, hour: 4 })`: every day at 04:00 in the app's timezone (Celery's `crontab`). */
export function crontab(fields: CrontabFields = {}): Crontab {
  const f = (v: string | number | undefined) => (v === undefined ? '*' : String(v).replace(/\s+/g, ''));
  return {
    [CRONTAB]: true,
    expression: [fields.minute, fields.hour, fields.dayOfMonth, fields.monthOfYear, fields.dayOfWeek]
      .map(f)
      .join(' '),
  };
}

/** A schedule as beat runs it. */
export type Schedule =
  { kind: 'interval'; seconds: number } | { kind: 'cron'; expression: string; timezone: string };

/** Why `timezone` is not an IANA zone Node knows, or null. */
export function checkTimezone(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return null;
  } catch {
    return `unknown timezone ${JSON.stringify(timezone)} (an IANA name such as UTC or Europe/Berlin)`;
  }
}

/**
 * A cron pattern as beat steps it. Day of month and day of week must both match, as Celery's crontab has it
 * (classic cron matches either); five fields only (no seconds, as Celery).
 */
function cronOf(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, paused: true, mode: '5-part', domAndDow: true });
}

/** Why a cron expression cannot be used, or null. */
export function checkCron(expression: string): string | null {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5) {
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), got ${fields}: ${JSON.stringify(expression)}`;
  }
  try {
    cronOf(expression, 'UTC');
    return null;
  } catch (err) {
    return `invalid cron expression ${JSON.stringify(expression)}: ${(err as Error).message.replace(/^CronPattern: /, '')}`;
  }
}

const isCrontab = (v: unknown): v is Crontab =>
  typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[CRONTAB] === true;

/** What an entry's `schedule` may be: seconds, a cron string or `crontab(...)`. Checked, timezone added later. */
export const scheduleInputSchema = z.unknown().transform((value, ctx): Schedule | typeof z.NEVER => {
  const issue = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) return issue('an interval must be more than 0 seconds');
    return { kind: 'interval', seconds: value };
  }
  const expression = typeof value === 'string' ? value : isCrontab(value) ? value.expression : null;
  if (expression === null) {
    return issue('expected seconds (a number), a cron expression string or crontab({...})');
  }
  const problem = checkCron(expression);
  return problem ? issue(problem) : { kind: 'cron', expression: expression.trim(), timezone: 'UTC' };
});

/** Options of the message each run sends (a subset of `applyAsync`'s). Celery: the entry's `options`. */
export const beatEntryOptionsSchema = z.strictObject({
  queue: z.string().min(1).optional(),
  priority: z.number().int().min(0).max(255).optional(),
  /** Seconds after which a run nobody took is revoked instead of run. */
  expires: z.number().positive().optional(),
  ignoreResult: z.boolean().optional(),
  headers: z.record(z.string(), z.unknown()).optional(),
});

/** One `beatSchedule` entry. Celery: an entry of `beat_schedule`. */
export const beatEntrySchema = z.strictObject({
  /** The task's name, registered here or on another worker (a Python one). */
  task: z.string().trim().min(1, 'must name a task'),
  schedule: scheduleInputSchema,
  args: z.array(z.unknown()).default([]),
  kwargs: z.record(z.string(), z.unknown()).default({}),
  options: beatEntryOptionsSchema.default({}),
});

export type BeatEntryInput = z.input<typeof beatEntrySchema>;
export type BeatEntry = z.output<typeof beatEntrySchema>;

/** The first due time strictly after `after` (epoch ms); an interval counts from `anchor`. */
export function nextDue(schedule: Schedule, after: number, anchor = after): number {
  if (schedule.kind === 'interval') {
    const step = schedule.seconds * 1000;
    const n = Math.floor((after - anchor) / step) + 1;
    return anchor + Math.max(1, n) * step;
  }
  const next = cronOf(schedule.expression, schedule.timezone).nextRun(new Date(after));
  // croner answers null only for patterns that never match again (none a 5-field pattern makes).
  return next ? next.getTime() : Number.POSITIVE_INFINITY;
}

/** The schedule with the app's timezone applied to cron patterns. */
export function inTimezone(schedule: Schedule, timezone: string): Schedule {
  return schedule.kind === 'cron' ? { ...schedule, timezone } : schedule;
}

/** Identifies a schedule's definition: a changed definition starts its timing afresh. */
export function scheduleKey(schedule: Schedule): string {
  return schedule.kind === 'interval'
    ? `every ${schedule.seconds}s`
    : `cron ${schedule.expression} ${schedule.timezone}`;
}

/**
 * An entry as the state store keeps it, JSON throughout: beat publishes its app's `beatSchedule` (`code`)
 * so the console can show it, and the console defines its own (`console`). `schedule` is seconds or a
 * five-field cron expression (a `crontab({...})` is stored as its expression); `timezone` is the zone a
 * cron is read in (the app's for code entries, chosen for console ones).
 */
export interface BeatDefinition {
  task: string;
  schedule: number | string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: z.output<typeof beatEntryOptionsSchema>;
  timezone: string;
}

/** A console entry's definition: a code entry's fields (same checks), JSON only, plus its cron's timezone. */
export const beatDefinitionSchema = z.strictObject({
  task: beatEntrySchema.shape.task,
  schedule: z
    .union([z.number(), z.string().trim()], { error: 'expected seconds (a number) or a cron expression' })
    .superRefine((value, ctx) => {
      const parsed = scheduleInputSchema.safeParse(value);
      for (const issue of parsed.error?.issues ?? [])
        ctx.addIssue({ code: 'custom', message: issue.message });
    }),
  args: beatEntrySchema.shape.args,
  kwargs: beatEntrySchema.shape.kwargs,
  options: beatEntrySchema.shape.options,
  timezone: z
    .string()
    .trim()
    .default('UTC')
    .superRefine((tz, ctx) => {
      const problem = checkTimezone(tz);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
});

/** The schedule a definition runs on: its cron read in its own timezone. */
export function definitionSchedule(definition: BeatDefinition): Schedule {
  return typeof definition.schedule === 'number'
    ? { kind: 'interval', seconds: definition.schedule }
    : { kind: 'cron', expression: definition.schedule.trim(), timezone: definition.timezone };
}

/** A code entry (`beatSchedule`, parsed) as the store keeps it, its cron in the app's `timezone`. */
export function definitionOf(entry: BeatEntry, timezone: string): BeatDefinition {
  const s = entry.schedule;
  return {
    task: entry.task,
    schedule: s.kind === 'interval' ? s.seconds : s.expression,
    args: entry.args,
    kwargs: entry.kwargs,
    options: entry.options,
    timezone,
  };
}
