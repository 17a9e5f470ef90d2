import 'server-only';
import { TRPCError } from '@trpc/server';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { resendTask } from '../../services/resend';
import { retryTaskInput } from './retry-task.schema';

/**
 * Sends the task again with its original arguments, as a new task whose parent is the old one (so the
 * old task's detail lists it among its children). Only finished tasks: a task still in flight would run
 * twice.
 */
export const retryTask = operatorProcedure.input(retryTaskInput).mutation(async ({ ctx, input }) => {
  const { lovage } = ctx.services;
  const record = await lovage.taskIndex.get(input.id);
  if (!record) throw new TRPCError({ code: 'NOT_FOUND', message: `No task ${input.id} in the index.` });
  // The task as the index had it: context in both halves, so the diff shows only the new task's id.
  const task = { name: record.name, state: record.state, queue: record.queue };
  return audited(
    ctx.services,
    ctx.user,
    {
      action: 'task.retry',
      target: record.id,
      before: { ...task, newTaskId: null },
      reason: input.reason ?? null,
    },
    async () => {
      const newTaskId = await resendTask(lovage, record);
      return {
        result: { newTaskId, message: `Sent again as task ${newTaskId}.` },
        after: { ...task, newTaskId },
      };
    },
  );
});
