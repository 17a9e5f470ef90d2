import { z } from 'zod';
import { epochMs, fromParams, paginationInput, type SearchParamsLike } from '../shared/pagination.schema';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from './audit-actions';

export const findAuditInput = z.object({
  ...paginationInput,
  /** Part of the actor's e-mail, any case. */
  actor: z.string().trim().max(200).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: epochMs.optional(),
  to: epochMs.optional(),
});
export type FindAuditInput = z.input<typeof findAuditInput>;

/** The audit table's state as the URL holds it (`?actor=&action=&from=&to=&page=`), read leniently. */
export function auditSearchFromParams(params: SearchParamsLike): FindAuditInput {
  return {
    page: fromParams.int(params, 'page', 1, 1_000_000) ?? 1,
    perPage: fromParams.int(params, 'perPage', 1, 100) ?? 25,
    actor: fromParams.string(params, 'actor'),
    action: fromParams.oneOf(params, 'action', AUDIT_ACTIONS),
    outcome: fromParams.oneOf(params, 'outcome', AUDIT_OUTCOMES),
    from: fromParams.time(params, 'from'),
    to: fromParams.time(params, 'to'),
  };
}
