import 'server-only';
import { TRPCError } from '@trpc/server';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { resendTask } from '../../services/resend';
import { retryGroupInput } from './retry-group.schema';
import { groupMembers, stateCounts } from './group-members';

/**
 * Sends each FAILURE member of a group again, as the single Retry does: a new task with the same arguments
 * whose parent is the failed one. Members that cannot be (arguments unknown) are skipped and named; the
 * outcome is `partial` then. One audit entry names the group and every task id retried or skipped.
 */
export const retryGroup = operatorProcedure.input(retryGroupInput).mutation(async ({ ctx, input }) => {
  const { lovage } = ctx.services;
  const members = await groupMembers(lovage.taskIndex, input.group);
  const failed = members.filter((m) => m.state === 'FAILURE');
  const states = stateCounts(members);
  return audited(
    ctx.services,
    ctx.user,
    {
      action: 'group.retry',
      target: input.group,
      before: { states, retried: [] },
      reason: input.reason ?? null,
    },
    async () => {
      if (failed.length === 0) {
        throw new TRPCError({
          code: 'PRECONDITION_FAILED',
          message: `cannot retry: no member of group ${input.group} failed`,
        });
      }
      const retried: { id: string; newTaskId: string }[] = [];
      const skipped: { id: string; reason: string }[] = [];
      for (const m of failed) {
        try {
          retried.push({ id: m.id, newTaskId: await resendTask(lovage, m) });
        } catch (err) {
          if (!(err instanceof TRPCError) || err.code !== 'PRECONDITION_FAILED') throw err;
          skipped.push({ id: m.id, reason: err.message });
        }
      }
      if (retried.length === 0) {
        throw new TRPCError({
          code: 'PRECONDITION_FAILED',
          message: `cannot retry any failed member: ${skipped[0]!.reason}`,
        });
      }
      const message =
        `Sent ${retried.length} failed ${retried.length === 1 ? 'task' : 'tasks'} again` +
        (skipped.length > 0 ? `; ${skipped.length} could not be (${skipped[0]!.reason}).` : '.');
      return {
        result: { message, retried, skipped },
        after: { states, retried },
        detail: skipped.length > 0 ? { skipped } : undefined,
        outcome: skipped.length > 0 ? 'partial' : 'ok',
      };
    },
  );
});
