import { z } from 'zod';
import { taskIdSchema } from './get-task.schema';
import { reasonSchema } from './retry-task.schema';

/** JSON text that must parse to a value `check` accepts; the issue says why, under the field. */
function jsonText<T>(what: string, check: (v: unknown) => v is T) {
  return z
    .string()
    .max(1_000_000, 'must be at most 1,000,000 characters')
    .transform((text, ctx): T => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `is not JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
      if (!check(value)) {
        ctx.addIssue({ code: 'custom', message: `must be ${what}` });
        return z.NEVER;
      }
      return value;
    });
}

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Replaying a finished task with the same or edited arguments and options: args and kwargs as JSON text
 * (a masked value left as shown keeps the original, see replay-task.ts), the queue, a countdown and a
 * priority.
 */
export const replayTaskInput = z.object({
  id: taskIdSchema,
  args: jsonText('a JSON array, such as [1, 2]', isArray),
  kwargs: jsonText('a JSON object, such as {"x": 1}', isObject),
  queue: z.string().trim().min(1, 'must not be empty').max(200).optional(),
  /** Seconds from now; at most 30 days. */
  countdown: z
    .number()
    .int('must be whole seconds')
    .min(0)
    .max(30 * 24 * 3600)
    .optional(),
  priority: z.number().int('must be a whole number').min(0).max(9).optional(),
  reason: reasonSchema,
});
export type ReplayTaskInput = z.input<typeof replayTaskInput>;
