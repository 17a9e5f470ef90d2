import { z } from 'zod';

/** Deleting every waiting message of a queue: the queue's name typed again confirms it. */
export const purgeQueueInput = z
  .object({
    queue: z.string().trim().min(1, 'is required').max(200),
    confirm: z.string().trim(),
    reason: z.string().trim().max(500).optional(),
  })
  .refine((v) => v.confirm === v.queue, {
    message: "type the queue's name to confirm",
    path: ['confirm'],
  });
export type PurgeQueueInput = z.input<typeof purgeQueueInput>;
