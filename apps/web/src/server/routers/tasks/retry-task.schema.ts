import { z } from 'zod';
import { taskIdSchema } from './get-task.schema';

export const reasonSchema = z.string().trim().max(500, 'must be at most 500 characters').optional();

export const retryTaskInput = z.object({ id: taskIdSchema, reason: reasonSchema });
export type RetryTaskInput = z.input<typeof retryTaskInput>;
