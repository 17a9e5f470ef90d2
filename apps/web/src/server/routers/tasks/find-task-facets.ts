import 'server-only';
import { protectedProcedure } from '../../trpc/init';

/** What the filters can choose from: task names, queues and workers the index knows, and counts per state. */
export const findTaskFacets = protectedProcedure.query(async ({ ctx }) => {
  const index = ctx.services.lovage.taskIndex;
  const [names, queues, workers, counts] = await Promise.all([
    index.taskNames(),
    index.queues(),
    index.workers(),
    index.counts(),
  ]);
  return { names, queues, workers: workers.map((w) => w.hostname), counts };
});
