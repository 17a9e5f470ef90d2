import { z } from 'zod';
import { emailSchema, passwordSchema } from '../users/user.schema';

export const createFirstAdminInput = z.object({
  token: z.string().min(1, 'the setup link is incomplete'),
  email: emailSchema,
  name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  password: passwordSchema,
});
export type CreateFirstAdminInput = z.input<typeof createFirstAdminInput>;
