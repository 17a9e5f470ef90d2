import 'server-only';
import { takeDeadLetterProcedure } from './take-dead-letter';

/** Puts a dead letter's raw message back on its queue, behind the waiting messages; audited. */
export const requeueDeadLetter = takeDeadLetterProcedure('requeue');
