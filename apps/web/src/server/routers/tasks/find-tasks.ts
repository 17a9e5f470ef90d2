import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { presentTaskRow } from '../../presenters/task-presenter';
import { findTasksInput } from './find-tasks.schema';

/** One page of the monitor's task-state index, newest first, filtered on the server. */
export const findTasks = protectedProcedure.input(findTasksInput).query(async ({ ctx, input }) => {
  const { page, perPage, ...filter } = input;
  const res = await ctx.services.lovage.taskIndex.list(filter, {
    offset: (page - 1) * perPage,
    limit: perPage,
  });
  return { total: res.total, page, perPage, items: res.items.map(presentTaskRow) };
});
