import { z } from 'zod';
import { rateLimitSchema } from '@lovage/runtime/settings';

const taskName = z.string().trim().min(1, 'enter a task name').max(300, 'must be at most 300 characters');
const seconds = z
  .number({ error: 'must be a number of seconds' })
  .positive('must be more than 0 seconds')
  .max(86_400, 'must be at most 86400 seconds');

/** A live limit for one task on every running worker, until they restart (stored settings are unchanged). */
export const setTaskLimitInput = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('rate'),
    taskName,
    /** `10/s`, `100/m`, `1000/h`; null removes the limit. */
    rateLimit: rateLimitSchema.nullable(),
    reason: z.string().trim().max(500).optional(),
  }),
  z
    .object({
      kind: z.literal('time'),
      taskName,
      hard: seconds.nullable(),
      soft: seconds.nullable(),
      reason: z.string().trim().max(500).optional(),
    })
    .refine((v) => !(v.hard && v.soft && v.soft >= v.hard), {
      message: 'the soft time limit must be below the hard time limit',
      path: ['soft'],
    }),
]);
export type SetTaskLimitInput = z.input<typeof setTaskLimitInput>;
