import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { ACTIVITY_STATES, activityBucketMs, findTaskActivityInput } from './find-task-activity.schema';

/**
 * Finished tasks over time (succeeded, failed, revoked per bucket), from the task index: what Flower's
 * monitor graphs show, without living in one process's memory. Buckets end at the current one; the tasks
 * page's name, worker and queue filters narrow it.
 */
export const findTaskActivity = protectedProcedure
  .input(findTaskActivityInput)
  .query(async ({ ctx, input }) => {
    const bucketMs = activityBucketMs(input.minutes);
    const to = Math.ceil(Date.now() / bucketMs) * bucketMs;
    const from = to - input.minutes * 60_000;
    const { name, worker, queue } = input;
    const buckets = await ctx.services.lovage.taskIndex.histogram(
      ACTIVITY_STATES,
      { from, to, bucketMs },
      { name, worker, queue },
    );
    return { bucketMs, buckets };
  });
