import { z } from 'zod';

export const resizePoolInput = z.object({
  hostname: z.string().trim().min(1, 'is required').max(300),
  direction: z.enum(['grow', 'shrink']),
  /** Processes (or threads, slots) to add or remove; the Workers page's box checks it with this schema too. */
  n: z
    .number({ error: 'enter a whole number of processes' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100 at a time'),
  reason: z.string().trim().max(500).optional(),
});
export type ResizePoolInput = z.input<typeof resizePoolInput>;
