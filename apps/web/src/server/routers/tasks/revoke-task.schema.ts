import { z } from 'zod';
import { taskIdSchema } from './get-task.schema';
import { reasonSchema } from './retry-task.schema';

export const revokeTaskInput = z.object({
  id: taskIdSchema,
  /** Also stop the task if it is running (Celery: terminate=True). */
  terminate: z.boolean().default(false),
  reason: reasonSchema,
});
export type RevokeTaskInput = z.input<typeof revokeTaskInput>;
