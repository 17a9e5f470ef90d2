import 'server-only';
import { protectedProcedure } from '../../trpc/init';

/** The queues that hold dead letters, with how many each. */
export const findDeadLetterQueues = protectedProcedure.query(({ ctx }) =>
  ctx.services.lovage.app.state.deadLetters.queues(),
);
