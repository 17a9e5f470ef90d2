import 'server-only';
import { TRPCError } from '@trpc/server';
import type { DefineOutcome } from '@lovage/runtime';
import { adminProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { checkTaskKnown } from './known-tasks';
import { fieldError } from './field-error';
import { auditedState, readSchedule, readSchedules } from './read-schedules';
import { scheduleInput } from './schedule.schema';

/** Why the store refused a change, as the admin should read it. */
function refusal(outcome: Exclude<DefineOutcome, 'ok'>, name: string): TRPCError {
  switch (outcome) {
    case 'code':
      return fieldError(
        'BAD_REQUEST',
        'name',
        `is taken by a code-defined schedule (${name}): change that one in code, or disable it here`,
      );
    case 'exists':
      return fieldError('CONFLICT', 'name', `is taken: a schedule ${name} exists already`);
    case 'missing':
      return new TRPCError({
        code: 'NOT_FOUND',
        message: `No console-defined schedule ${name}: deleted meanwhile?`,
      });
  }
}

/**
 * Creates or edits a console-defined schedule (admins), audited with before and after. The state store's
 * one script refuses a code entry's name; the running beat picks the change up at its next tick.
 */
export function defineScheduleProcedure(mode: 'create' | 'update') {
  return adminProcedure.input(scheduleInput).mutation(async ({ ctx, input }) => {
    const { lovage } = ctx.services;
    const before =
      mode === 'update'
        ? await readSchedule(lovage, input.name)
        : ((await readSchedules(lovage, input.name))[0] ?? null);
    return audited(
      ctx.services,
      ctx.user,
      {
        action: mode === 'create' ? 'schedule.create' : 'schedule.update',
        target: input.name,
        before: auditedState(before),
        reason: input.reason ?? null,
      },
      async () => {
        await checkTaskKnown(lovage, input.definition.task);
        const outcome = await lovage.app.state.beat.define(
          input.name,
          mode,
          input.definition,
          ctx.user.email,
        );
        if (outcome !== 'ok') throw refusal(outcome, input.name);
        const after = await readSchedule(lovage, input.name);
        return {
          result: {
            schedule: after,
            message: `${mode === 'create' ? 'Created' : 'Saved'} ${input.name}: ${after.words.charAt(0).toLowerCase()}${after.words.slice(1)}. The running beat picks it up within seconds.`,
          },
          after: auditedState(after),
        };
      },
    );
  });
}
