import 'server-only';
import { defineScheduleProcedure } from './define-schedule';

/** Defines a schedule in the console (admins); audited. */
export const createSchedule = defineScheduleProcedure('create');
