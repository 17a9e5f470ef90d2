import { z } from 'zod';

/** Disable (no sign-in, sessions ended) or enable a user again. */
export const setUserDisabledInput = z.object({
  userId: z.string().min(1),
  disabled: z.boolean(),
  reason: z.string().trim().max(500).optional(),
});
