/**
 * Task states and Celery's precedence (celery/states.py): when two reports disagree, the one with the
 * higher precedence wins. SUCCESS is highest; PENDING lowest. An unknown state sits between FAILURE and
 * REVOKED, as in Celery.
 */
export const States = {
  PENDING: 'PENDING',
  RECEIVED: 'RECEIVED',
  STARTED: 'STARTED',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  RETRY: 'RETRY',
  REVOKED: 'REVOKED',
  REJECTED: 'REJECTED',
} as const;

export type TaskState = (typeof States)[keyof typeof States];

const PRECEDENCE: readonly (string | null)[] = [
  'SUCCESS',
  'FAILURE',
  null,
  'REVOKED',
  'STARTED',
  'RECEIVED',
  'REJECTED',
  'RETRY',
  'PENDING',
];

/** Lower is more important, like Celery's `states.precedence`. */
export function precedence(state: string): number {
  const i = PRECEDENCE.indexOf(state);
  return i === -1 ? PRECEDENCE.indexOf(null) : i;
}

/** True when `a` should replace `b` as a task's state. */
export function outranks(a: string, b: string): boolean {
  return precedence(a) < precedence(b);
}

/** States after which the task will not change again. */
export const READY_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
export const EXCEPTION_STATES: ReadonlySet<string> = new Set(['FAILURE', 'RETRY', 'REVOKED']);

export function isReady(state: string): boolean {
  return READY_STATES.has(state);
}
