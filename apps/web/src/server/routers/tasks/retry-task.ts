import 'server-only';
import { TRPCError } from '@trpc/server';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { retryBlockedReason } from '../../presenters/task-presenter';
import { retryTaskInput } from './retry-task.schema';

function parseJson<T>(text: string, check: (v: unknown) => v is T, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `cannot retry: the stored ${what} are not JSON`,
    });
  }
  if (!check(value))
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `cannot retry: bad ${what}` });
  return value;
}

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

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
      const blocked = retryBlockedReason(record);
      if (blocked) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: blocked });
      const args = parseJson(record.argsJson!, isArray, 'arguments');
      const kwargs = record.kwargsJson ? parseJson(record.kwargsJson, isObject, 'keyword arguments') : {};
      const sent = await lovage.app.sendTask(record.name!, args, kwargs, {
        parentId: record.id,
        rootId: record.rootId ?? record.id,
        ...(record.queue ? { queue: record.queue } : {}),
      });
      return {
        result: { newTaskId: sent.id, message: `Sent again as task ${sent.id}.` },
        after: { ...task, newTaskId: sent.id },
      };
    },
  );
});
