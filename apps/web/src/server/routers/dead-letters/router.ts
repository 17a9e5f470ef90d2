import { router } from '../../trpc/init';
import { findDeadLetterQueues } from './find-dead-letter-queues';
import { findDeadLetters } from './find-dead-letters';
import { deleteDeadLetter } from './delete-dead-letter';
import { requeueDeadLetter } from './requeue-dead-letter';

export const deadLettersRouter = router({
  queues: findDeadLetterQueues,
  find: findDeadLetters,
  requeue: requeueDeadLetter,
  delete: deleteDeadLetter,
});
