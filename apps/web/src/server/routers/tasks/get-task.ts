import 'server-only';
import { TRPCError } from '@trpc/server';
import { protectedProcedure } from '../../trpc/init';
import { presentTaskDetail } from '../../presenters/task-presenter';
import { getTaskInput } from './get-task.schema';

/** One task: arguments, result or exception and traceback, timeline, parent and children. */
export const getTask = protectedProcedure.input(getTaskInput).query(async ({ ctx, input }) => {
  const index = ctx.services.lovage.taskIndex;
  const record = await index.get(input.id);
  if (!record) throw new TRPCError({ code: 'NOT_FOUND', message: `No task ${input.id} in the index.` });
  const [parent, children, purge] = await Promise.all([
    record.parentId && record.parentId !== record.id ? index.get(record.parentId) : Promise.resolve(null),
    index.children(record.id),
    index.purgeOf(record),
  ]);
  return presentTaskDetail(record, parent, children, purge);
});
