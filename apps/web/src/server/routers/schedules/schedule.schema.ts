/**
 * The schedule form's payload, one schema for the form (zodResolver) and the procedures. The form holds
 * text (numbers and JSON as typed); the schema turns it into the runtime's stored definition, with the
 * runtime's own checks (`checkCron`, `checkTimezone`, `beatDefinitionSchema`), each error on its field.
 * Browser-safe.
 */
import { z } from 'zod';
import {
  beatDefinitionSchema,
  checkCron,
  checkTimezone,
  type BeatDefinition,
} from '@lovage/runtime/schedule';

/** An entry's name: also its key in Redis and in the audit log. */
export const scheduleName = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(200)
  .regex(
    /^[A-Za-z0-9][\w.:-]*$/,
    'must hold only letters, digits and . _ : -, starting with a letter or digit',
  );

const reason = z.string().trim().max(500, 'must be at most 500 characters').optional();

/** A schedule to act on, and why (kept in the audit log). */
export const scheduleRefInput = z.object({ name: scheduleName, reason });
export type ScheduleRefInput = z.input<typeof scheduleRefInput>;

/** The form's fields, as typed. */
export const scheduleFormFields = z.object({
  name: scheduleName,
  task: z.string().trim().min(1, 'is required').max(300),
  kind: z.enum(['interval', 'cron']),
  /** Seconds, when `kind` is interval. */
  interval: z.string().trim(),
  /** Five fields, when `kind` is cron. */
  cron: z.string().trim(),
  timezone: z.string().trim(),
  /** JSON text: a list. */
  args: z.string().trim(),
  /** JSON text: an object. */
  kwargs: z.string().trim(),
  /** Empty: the app's default routing. */
  queue: z.string().trim().max(300),
  reason,
});
export type ScheduleFormValues = z.input<typeof scheduleFormFields>;

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The form checked and turned into `{ name, definition, reason }`; every problem named by its field. */
export const scheduleInput = scheduleFormFields.transform((v, ctx) => {
  const issue = (field: keyof ScheduleFormValues, message: string) =>
    ctx.addIssue({ code: 'custom', path: [field], message });
  let schedule: number | string = v.cron;
  if (v.kind === 'interval') {
    schedule = Number(v.interval);
    if (v.interval === '') issue('interval', 'is required');
    else if (!Number.isFinite(schedule)) issue('interval', 'must be a number of seconds');
    else if (schedule <= 0) issue('interval', 'must be more than 0 seconds');
  } else {
    const problem = v.cron === '' ? null : checkCron(v.cron);
    if (v.cron === '') issue('cron', 'is required');
    else if (problem) issue('cron', `is not valid: ${problem}`);
  }
  const timezone = v.timezone || 'UTC';
  const tzProblem = checkTimezone(timezone);
  if (tzProblem) issue('timezone', `is not valid: ${tzProblem}`);
  const args = v.args === '' ? { ok: true as const, value: [] } : parseJson(v.args);
  if (!args.ok || !Array.isArray(args.value)) issue('args', 'must be a JSON list, such as [1, "two"]');
  const kwargs = v.kwargs === '' ? { ok: true as const, value: {} } : parseJson(v.kwargs);
  const isObject = kwargs.ok && typeof kwargs.value === 'object' && kwargs.value !== null;
  if (!isObject || Array.isArray(kwargs.value)) issue('kwargs', 'must be a JSON object, such as {"x": 1}');
  if (ctx.issues.length > 0) return z.NEVER;
  const parsed = beatDefinitionSchema.safeParse({
    task: v.task,
    schedule,
    args: args.ok ? args.value : [],
    kwargs: kwargs.ok ? kwargs.value : {},
    options: v.queue ? { queue: v.queue } : {},
    timezone,
  });
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const field = i.path[0] === 'schedule' ? v.kind : i.path[0] === 'options' ? 'queue' : String(i.path[0]);
      ctx.addIssue({ code: 'custom', path: [field], message: i.message });
    }
    return z.NEVER;
  }
  const definition: BeatDefinition = parsed.data;
  return { name: v.name, definition, reason: v.reason };
});
export type ScheduleInput = z.input<typeof scheduleInput>;

/** The form's values for an existing definition (edit), or the empty form (create). */
export function toFormValues(name = '', d?: BeatDefinition): ScheduleFormValues {
  return {
    name,
    task: d?.task ?? '',
    kind: typeof d?.schedule === 'string' ? 'cron' : 'interval',
    interval: typeof d?.schedule === 'number' ? String(d.schedule) : '',
    cron: typeof d?.schedule === 'string' ? d.schedule : '',
    timezone: d?.timezone ?? 'UTC',
    args: JSON.stringify(d?.args ?? []),
    kwargs: JSON.stringify(d?.kwargs ?? {}),
    queue: d?.options.queue ?? '',
    reason: '',
  };
}
