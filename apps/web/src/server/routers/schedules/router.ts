import { router } from '../../trpc/init';
import { createSchedule } from './create-schedule';
import { deleteSchedule } from './delete-schedule';
import { findSchedules } from './find-schedules';
import { getSchedule } from './get-schedule';
import { runSchedule } from './run-schedule';
import { disableSchedule, enableSchedule } from './set-schedule-enabled';
import { updateSchedule } from './update-schedule';

export const schedulesRouter = router({
  find: findSchedules,
  get: getSchedule,
  create: createSchedule,
  update: updateSchedule,
  delete: deleteSchedule,
  enable: enableSchedule,
  disable: disableSchedule,
  run: runSchedule,
});
