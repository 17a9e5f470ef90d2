import { z } from 'zod';
import { groupIdSchema } from './retry-group.schema';
import { reasonSchema } from './retry-task.schema';

export const revokeGroupInput = z.object({ group: groupIdSchema, reason: reasonSchema });
export type RevokeGroupInput = z.input<typeof revokeGroupInput>;
