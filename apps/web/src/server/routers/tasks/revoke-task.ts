import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { revokeTaskInput } from './revoke-task.schema';

/**
 * Revokes a task: kept in Redis (workers started later honour it) and broadcast to running workers;
 * with `terminate`, a worker running it stops it.
 */
export const revokeTask = operatorProcedure.input(revokeTaskInput).mutation(async ({ ctx, input }) => {
  const { lovage } = ctx.services;
  const record = await lovage.taskIndex.get(input.id);
  // The task as the index had it: context in both halves, so the diff shows only what the action changed.
  const task = record ? { name: record.name, state: record.state, worker: record.worker } : null;
  return audited(
    ctx.services,
    ctx.user,
    {
      action: input.terminate ? 'task.terminate' : 'task.revoke',
      target: input.id,
      before: { ...task, revoked: false },
      reason: input.reason ?? null,
    },
    async () => {
      await lovage.app.revoke(input.id, { terminate: input.terminate });
      const message = input.terminate
        ? 'Revoked; a worker running it was told to terminate it.'
        : 'Revoked: no worker will start it.';
      return {
        result: { message, terminate: input.terminate },
        after: { ...task, revoked: true, terminate: input.terminate },
      };
    },
  );
});
