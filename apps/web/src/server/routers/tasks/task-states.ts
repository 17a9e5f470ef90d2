/** Celery's task states, as the index records them. Browser-safe. */
export const TASK_STATES = [
  'PENDING',
  'RECEIVED',
  'STARTED',
  'RETRY',
  'SUCCESS',
  'FAILURE',
  'REVOKED',
  'REJECTED',
] as const;
export type TaskStateName = (typeof TASK_STATES)[number];

/** States after which the task will not change again. */
export const FINAL_STATES: readonly string[] = ['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'];
