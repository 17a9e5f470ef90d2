import { router } from '../trpc/init';
import { auditRouter } from './audit/router';
import { deadLettersRouter } from './dead-letters/router';
import { meRouter } from './me/router';
import { queuesRouter } from './queues/router';
import { schedulesRouter } from './schedules/router';
import { settingsRouter } from './settings/router';
import { setupRouter } from './setup/router';
import { tasksRouter } from './tasks/router';
import { usersRouter } from './users/router';
import { workersRouter } from './workers/router';

/** The console's API. Router files only wire names; each procedure sits in its own file. */
export const appRouter = router({
  me: meRouter,
  tasks: tasksRouter,
  workers: workersRouter,
  queues: queuesRouter,
  deadLetters: deadLettersRouter,
  schedules: schedulesRouter,
  settings: settingsRouter,
  audit: auditRouter,
  users: usersRouter,
  setup: setupRouter,
});

export type AppRouter = typeof appRouter;
