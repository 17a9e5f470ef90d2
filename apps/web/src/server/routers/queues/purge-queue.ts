import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { purgeQueueInput } from './purge-queue.schema';

/**
 * Deletes every message waiting in a queue (Celery's `purge`); tasks a worker already holds are not
 * touched. Audited with the backlog before and after and how many went. The task index records the purge
 * (who, when), which becomes the fate of the queue's tasks still PENDING that were sent before it.
 */
export const purgeQueue = operatorProcedure.input(purgeQueueInput).mutation(async ({ ctx, input }) => {
  const { app, taskIndex } = ctx.services.lovage;
  const { broker } = app;
  return audited(
    ctx.services,
    ctx.user,
    {
      action: 'queue.purge',
      target: input.queue,
      before: { waiting: await broker.queueLength(input.queue) },
      reason: input.reason ?? null,
    },
    async () => {
      const at = Date.now();
      const purged = await broker.purge(input.queue);
      if (purged > 0) {
        await taskIndex.recordPurge({ queue: input.queue, at, by: ctx.user.email, count: purged });
      }
      return {
        result: {
          purged,
          message: `Purged ${purged} waiting message${purged === 1 ? '' : 's'} from ${input.queue}.`,
        },
        after: { waiting: await broker.queueLength(input.queue) },
        detail: { purged },
      };
    },
  );
});
