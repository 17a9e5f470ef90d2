import { router } from '../../trpc/init';
import { findTaskActivity } from './find-task-activity';
import { findTaskFacets } from './find-task-facets';
import { findTasks } from './find-tasks';
import { getTask } from './get-task';
import { onTasksChanged } from './on-tasks-changed';
import { retryTask } from './retry-task';
import { revokeTask } from './revoke-task';

export const tasksRouter = router({
  find: findTasks,
  facets: findTaskFacets,
  activity: findTaskActivity,
  get: getTask,
  retry: retryTask,
  revoke: revokeTask,
  onChange: onTasksChanged,
});
