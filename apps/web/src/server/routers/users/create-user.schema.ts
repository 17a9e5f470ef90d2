import { z } from 'zod';
import { emailSchema, passwordSchema, roleSchema } from './user.schema';

export const createUserInput = z.object({
  email: emailSchema,
  name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  role: roleSchema,
  password: passwordSchema,
});
export type CreateUserInput = z.input<typeof createUserInput>;
