import 'server-only';
import { protectedProcedure } from '../../trpc/init';

/**
 * Live updates over SSE: the task ids and worker hostnames the monitor just changed. Every tab of every
 * user shares the process's single index subscription; a tab refetches only what it shows.
 */
export const onTasksChanged = protectedProcedure.subscription(async function* ({ ctx, signal }) {
  yield* ctx.services.lovage.watch(signal ?? new AbortController().signal);
});
