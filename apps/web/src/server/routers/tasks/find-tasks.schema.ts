import { z } from 'zod';
import { epochMs, fromParams, paginationInput, type SearchParamsLike } from '../shared/pagination.schema';
import { TASK_STATES } from './task-states';

const text = z.string().trim().min(1).max(300);

export const findTasksInput = z.object({
  ...paginationInput,
  state: z.enum(TASK_STATES).optional(),
  name: text.optional(),
  worker: text.optional(),
  queue: text.optional(),
  /** Tasks last updated at or after (epoch ms). */
  from: epochMs.optional(),
  /** Tasks last updated at or before (epoch ms). */
  to: epochMs.optional(),
  id: text.optional(),
});
export type FindTasksInput = z.input<typeof findTasksInput>;

/** The tasks table's state as the URL holds it (`?state=&name=&worker=&queue=&from=&to=&id=&page=`). */
export function taskSearchFromParams(params: SearchParamsLike): FindTasksInput {
  return {
    page: fromParams.int(params, 'page', 1, 1_000_000) ?? 1,
    perPage: fromParams.int(params, 'perPage', 1, 100) ?? 25,
    state: fromParams.oneOf(params, 'state', TASK_STATES),
    name: fromParams.string(params, 'name'),
    worker: fromParams.string(params, 'worker'),
    queue: fromParams.string(params, 'queue'),
    from: fromParams.time(params, 'from'),
    to: fromParams.time(params, 'to'),
    id: fromParams.string(params, 'id'),
  };
}
