import { z } from 'zod';

/** The states the activity chart stacks: how tasks finished. */
export const ACTIVITY_STATES = ['SUCCESS', 'FAILURE', 'REVOKED'] as const;

/** Ranges the chart offers, in minutes; buckets grow with the range so there are at most 96 bars. */
export const ACTIVITY_RANGES = [60, 360, 1440] as const;

export const findTaskActivityInput = z.object({
  minutes: z
    .number()
    .int()
    .refine((m) => (ACTIVITY_RANGES as readonly number[]).includes(m), 'must be 60, 360 or 1440')
    .default(60),
  /** The tasks page's filters the chart follows (exact, as the list's). */
  name: z.string().trim().min(1).max(300).optional(),
  worker: z.string().trim().min(1).max(300).optional(),
  queue: z.string().trim().min(1).max(300).optional(),
});
export type FindTaskActivityInput = z.input<typeof findTaskActivityInput>;

/** Bucket size for a range: a minute for the last hour, 5 for 6 hours, 15 for a day. */
export function activityBucketMs(minutes: number): number {
  return (minutes <= 60 ? 1 : minutes <= 360 ? 5 : 15) * 60_000;
}
