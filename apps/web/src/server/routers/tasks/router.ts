import { router } from '../../trpc/init';
import { findTaskActivity } from './find-task-activity';
import { findTaskFacets } from './find-task-facets';
import { findTasks } from './find-tasks';
import { getTask } from './get-task';
import { getTaskWorkflow } from './get-task-workflow';
import { onTasksChanged } from './on-tasks-changed';
import { replayTask } from './replay-task';
import { retryGroup } from './retry-group';
import { retryTask } from './retry-task';
import { revokeGroup } from './revoke-group';
import { revokeTask } from './revoke-task';

export const tasksRouter = router({
  find: findTasks,
  facets: findTaskFacets,
  activity: findTaskActivity,
  get: getTask,
  workflow: getTaskWorkflow,
  retry: retryTask,
  replay: replayTask,
  revoke: revokeTask,
  retryGroup,
  revokeGroup,
  onChange: onTasksChanged,
});
