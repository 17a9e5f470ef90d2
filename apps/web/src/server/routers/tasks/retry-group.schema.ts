import { z } from 'zod';
import { reasonSchema } from './retry-task.schema';

/** A group id as Celery makes them (a UUID) or as a client chose it: one token, no spaces. */
export const groupIdSchema = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(300)
  .regex(/^\S*$/, 'must not contain spaces');

export const retryGroupInput = z.object({ group: groupIdSchema, reason: reasonSchema });
export type RetryGroupInput = z.input<typeof retryGroupInput>;
