import { z } from 'zod';

/** Start or stop consuming a queue on one worker (Celery's add_consumer / cancel_consumer). */
export const setConsumerInput = z.object({
  hostname: z.string().trim().min(1, 'is required').max(300),
  queue: z
    .string()
    .trim()
    .min(1, 'is required')
    .max(200, 'must be at most 200 characters')
    .regex(/^\S+$/, 'must have no spaces'),
  action: z.enum(['add', 'cancel']),
  reason: z.string().trim().max(500).optional(),
});
export type SetConsumerInput = z.input<typeof setConsumerInput>;
