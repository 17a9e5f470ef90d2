import 'server-only';
import { z } from 'zod';
import { protectedProcedure } from '../../trpc/init';
import { taskStates } from '../../presenters/schedule-presenter';
import { readSchedule } from './read-schedules';
import { scheduleName } from './schedule.schema';

export const getScheduleInput = z.object({ name: scheduleName });

/** One schedule with its run history (newest first, the last 50), each run with its task's state. */
export const getSchedule = protectedProcedure.input(getScheduleInput).query(async ({ ctx, input }) => {
  const { lovage } = ctx.services;
  const [schedule, history] = await Promise.all([
    readSchedule(lovage, input.name),
    lovage.app.state.beat.history(input.name),
  ]);
  const states = await taskStates(
    lovage,
    history.map((r) => r.taskId),
  );
  return { schedule, runs: history.map((r) => ({ ...r, state: states.get(r.taskId)! })) };
});
