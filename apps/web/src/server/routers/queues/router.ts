import { router } from '../../trpc/init';
import { findQueues } from './find-queues';
import { purgeQueue } from './purge-queue';

export const queuesRouter = router({ find: findQueues, purge: purgeQueue });
