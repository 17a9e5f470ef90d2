import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { presentDeadLetter } from '../../presenters/dead-letter-presenter';
import { findDeadLettersInput } from './find-dead-letters.schema';

/** One page of a queue's dead letters, newest first: the messages no worker could run, and why. */
export const findDeadLetters = protectedProcedure
  .input(findDeadLettersInput)
  .query(async ({ ctx, input }) => {
    const letters = ctx.services.lovage.app.state.deadLetters;
    const { queue, page, perPage } = input;
    const [items, total] = await Promise.all([
      letters.list(queue, (page - 1) * perPage, perPage),
      letters.count(queue),
    ]);
    return { total, page, perPage, items: items.map(presentDeadLetter) };
  });
