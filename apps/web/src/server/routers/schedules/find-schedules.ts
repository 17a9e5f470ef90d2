import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { readSchedules } from './read-schedules';

/**
 * Every schedule, code-defined (as the running beat published them) and console-defined: the schedule in
 * plain words, enabled or not, next run, and the last run with its task's state.
 */
export const findSchedules = protectedProcedure.query(async ({ ctx }) => ({
  items: await readSchedules(ctx.services.lovage),
}));
