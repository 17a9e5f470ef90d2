import 'server-only';
import { adminProcedure } from '../../trpc/init';
import { fieldError } from './field-error';
import { notFound } from './read-schedules';
import { scheduleActionProcedure } from './schedule-action';

/** Deletes a console-defined schedule with its history (admins); audited with what it was. */
export const deleteSchedule = scheduleActionProcedure(
  adminProcedure,
  'schedule.delete',
  async ({ services, user }, _before, { name }) => {
    const outcome = await services.lovage.app.state.beat.define(name, 'delete', null, user.email);
    if (outcome === 'code') {
      throw fieldError(
        'BAD_REQUEST',
        'name',
        "is a code-defined schedule: remove it from the app's beatSchedule, or disable it",
      );
    }
    if (outcome !== 'ok') throw notFound(name);
    return { result: { message: `Deleted ${name} and its run history.` }, after: null };
  },
);
