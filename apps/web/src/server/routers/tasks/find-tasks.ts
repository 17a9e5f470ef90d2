import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { presentTaskRow } from '../../presenters/task-presenter';
import { findTasksInput } from './find-tasks.schema';

/**
 * One page of the monitor's task-state index, newest first, filtered on the server; `exact` is false when
 * the total is a lower bound (see TaskIndex.list).
 */
export const findTasks = protectedProcedure.input(findTasksInput).query(async ({ ctx, input }) => {
  const { page, perPage, ...filter } = input;
  const res = await ctx.services.lovage.taskIndex.list(filter, {
    offset: (page - 1) * perPage,
    limit: perPage,
  });
  return { total: res.total, exact: res.exact, page, perPage, items: res.items.map(presentTaskRow) };
});
