import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { auditedState, notFound, readSchedule } from './read-schedules';
import { scheduleActionProcedure } from './schedule-action';

/**
 * Enables or disables a schedule, code- or console-defined (operators); audited. A disabled entry sends
 * nothing; enabled again, it sends one run for those it missed (or none, `beatMissedRuns: 'skip'`).
 */
function setScheduleEnabledProcedure(enabled: boolean) {
  return scheduleActionProcedure(
    operatorProcedure,
    enabled ? 'schedule.enable' : 'schedule.disable',
    async ({ services }, _before, { name }) => {
      if (!(await services.lovage.app.state.beat.setEnabled(name, enabled))) throw notFound(name);
      const after = await readSchedule(services.lovage, name);
      return {
        result: {
          schedule: after,
          message: enabled
            ? `Enabled ${name}.`
            : `Disabled ${name}: beat sends no run of it until it is enabled again.`,
        },
        after: auditedState(after),
      };
    },
  );
}

export const enableSchedule = setScheduleEnabledProcedure(true);
export const disableSchedule = setScheduleEnabledProcedure(false);
