import 'server-only';
import { defineScheduleProcedure } from './define-schedule';

/** Edits a console-defined schedule (admins); its timing starts afresh when the schedule changed. Audited. */
export const updateSchedule = defineScheduleProcedure('update');
