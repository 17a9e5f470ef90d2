import { router } from '../../trpc/init';
import { findWorkers } from './find-workers';
import { resizePool } from './resize-pool';
import { setConsumer } from './set-consumer';
import { setTaskLimit } from './set-task-limit';

export const workersRouter = router({ find: findWorkers, resizePool, setTaskLimit, setConsumer });
