import { router } from '../../trpc/init';
import { findQueues } from './find-queues';
import { pauseQueueProcedure, resumeQueueProcedure } from './pause-queue';
import { purgeQueue } from './purge-queue';

export const queuesRouter = router({
  find: findQueues,
  purge: purgeQueue,
  pause: pauseQueueProcedure,
  resume: resumeQueueProcedure,
});
