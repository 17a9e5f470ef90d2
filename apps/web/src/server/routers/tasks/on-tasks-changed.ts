import 'server-only';
import { toTRPCError } from '../../trpc/errors';
import { protectedProcedure } from '../../trpc/init';

/**
 * Live updates over SSE: the task ids and worker hostnames the monitor just changed. Every tab of every
 * user shares the process's single index subscription; a tab refetches only what it shows.
 */
export const onTasksChanged = protectedProcedure.subscription(async function* ({ ctx, signal }) {
  try {
    yield* ctx.services.lovage.watch(signal ?? new AbortController().signal);
  } catch (err) {
    // Thrown while streaming, past the middleware that maps errors: mapped here (state store down -> 503).
    throw toTRPCError(err);
  }
});
