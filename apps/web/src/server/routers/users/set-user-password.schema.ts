import { z } from 'zod';
import { passwordSchema } from './user.schema';

export const setUserPasswordInput = z.object({
  userId: z.string().min(1),
  password: passwordSchema,
});
