import 'server-only';
import type { AuditAction } from '../audit/audit-actions';
import type { ScheduleView } from '../../presenters/schedule-presenter';
import { audited, type ActionDone } from '../../services/audited';
import type { Services } from '../../services/services';
import type { SessionUser } from '../../trpc/init';
import { operatorProcedure } from '../../trpc/init';
import { auditedState, readSchedule } from './read-schedules';
import { scheduleRefInput, type ScheduleRefInput } from './schedule.schema';

/**
 * An action on one existing schedule (enable, disable, run now, delete): the entry read first (NOT_FOUND
 * when it is gone), then `run`, audited with the entry before and what `run` says after.
 */
export function scheduleActionProcedure<T>(
  procedure: typeof operatorProcedure,
  action: AuditAction,
  run: (
    ctx: { services: Services; user: SessionUser },
    before: ScheduleView,
    input: ScheduleRefInput,
  ) => Promise<ActionDone<T>>,
) {
  return procedure.input(scheduleRefInput).mutation(async ({ ctx, input }) => {
    const before = await readSchedule(ctx.services.lovage, input.name);
    return audited(
      ctx.services,
      ctx.user,
      { action, target: input.name, before: auditedState(before), reason: input.reason ?? null },
      () => run(ctx, before, input),
    );
  });
}
