import { z } from 'zod';
import { ROLES } from '../../auth/roles';

/** Console password rule, shared by the forms and the procedures. */
export const passwordSchema = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(256, 'must be at most 256 characters');

export const emailSchema = z.string().trim().toLowerCase().pipe(z.email('must be an e-mail address'));

export const roleSchema = z.enum(ROLES, { error: 'must be viewer, operator or admin' });
