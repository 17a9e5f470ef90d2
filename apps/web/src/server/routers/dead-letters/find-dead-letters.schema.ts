import { z } from 'zod';
import { fromParams, paginationInput, type SearchParamsLike } from '../shared/pagination.schema';

const queue = z.string().trim().min(1, 'is required').max(300);

/** One page of a queue's dead letters, newest first. */
export const findDeadLettersInput = z.object({ ...paginationInput, queue });
export type FindDeadLettersInput = z.input<typeof findDeadLettersInput>;

/** A dead letter to act on: its queue and entry id, and why (kept in the audit log). */
export const deadLetterRefInput = z.object({
  queue,
  id: z.string().trim().min(1, 'is required').max(100),
  reason: z.string().trim().max(500).optional(),
});
export type DeadLetterRefInput = z.input<typeof deadLetterRefInput>;

/**
 * The dead-letters page's state as the URL holds it (`?queue=&page=`, and `letter=`, the entry a task's
 * page links to), read leniently.
 */
export function deadLetterSearchFromParams(params: SearchParamsLike): {
  queue?: string;
  page: number;
  letter?: string;
} {
  return {
    queue: fromParams.string(params, 'queue'),
    letter: fromParams.string(params, 'letter'),
    page: fromParams.int(params, 'page', 1, 1_000_000) ?? 1,
  };
}
