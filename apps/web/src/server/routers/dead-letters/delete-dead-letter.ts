import 'server-only';
import { takeDeadLetterProcedure } from './take-dead-letter';

/** Deletes a dead letter for good; audited. */
export const deleteDeadLetter = takeDeadLetterProcedure('delete');
