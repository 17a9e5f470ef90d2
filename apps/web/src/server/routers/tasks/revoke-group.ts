import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { revokeGroupInput } from './revoke-group.schema';
import { groupMembers, stateCounts } from './group-members';

/**
 * Revokes every member of a group the index holds, in one `app.revoke` (one `revoke` broadcast naming them
 * all, as Celery's GroupResult.revoke does): members not started yet will not run; finished ones are
 * unaffected. One audit entry names the group and every task id.
 */
export const revokeGroup = operatorProcedure.input(revokeGroupInput).mutation(async ({ ctx, input }) => {
  const { lovage } = ctx.services;
  const members = await groupMembers(lovage.taskIndex, input.group);
  const taskIds = members.map((m) => m.id);
  const states = stateCounts(members);
  return audited(
    ctx.services,
    ctx.user,
    {
      action: 'group.revoke',
      target: input.group,
      before: { states, revoked: false },
      reason: input.reason ?? null,
    },
    async () => {
      await lovage.app.revoke(taskIds);
      return {
        result: { message: `Revoked the ${taskIds.length} tasks of the group.`, taskIds },
        after: { states, revoked: true, taskIds },
      };
    },
  );
});
