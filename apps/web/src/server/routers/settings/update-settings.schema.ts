import { z } from 'zod';
import { workerSettingsSchema } from '@lovage/runtime/settings';

/** The settings form's payload: the runtime's one settings schema, plus the version the edit started from. */
export const updateSettingsInput = z.object({
  /** The version the form was loaded from (0 when none existed): a newer save in between is a conflict. */
  expectedVersion: z.number().int().min(0),
  settings: workerSettingsSchema,
  reason: z.string().trim().max(500, 'must be at most 500 characters').optional(),
});
export type UpdateSettingsInput = z.input<typeof updateSettingsInput>;
