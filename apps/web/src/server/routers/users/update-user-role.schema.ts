import { z } from 'zod';
import { roleSchema } from './user.schema';

export const updateUserRoleInput = z.object({
  userId: z.string().min(1),
  role: roleSchema,
  reason: z.string().trim().max(500).optional(),
});
