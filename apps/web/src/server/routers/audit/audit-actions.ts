/** Every action the audit log records. Browser-safe (the audit page's filter uses it). */
export const AUDIT_ACTIONS = [
  'task.retry',
  'task.revoke',
  'task.terminate',
  'pool.grow',
  'pool.shrink',
  'queue.purge',
  'queue.add',
  'queue.cancel',
  'limit.rate',
  'limit.time',
  'deadletter.requeue',
  'deadletter.delete',
  'settings.update',
  'user.create',
  'user.role',
  'user.password',
  'user.disable',
  'user.enable',
  'setup.admin',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['ok', 'partial', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const AUDIT_ACTION_LABELS: Record<AuditAction, string> = {
  'task.retry': 'Retry task',
  'task.revoke': 'Revoke task',
  'task.terminate': 'Revoke and terminate task',
  'pool.grow': 'Grow pool',
  'pool.shrink': 'Shrink pool',
  'queue.purge': 'Purge queue',
  'queue.add': 'Consume a queue (live)',
  'queue.cancel': 'Stop consuming a queue (live)',
  'limit.rate': 'Set rate limit (live)',
  'limit.time': 'Set time limits (live)',
  'deadletter.requeue': 'Requeue dead letter',
  'deadletter.delete': 'Delete dead letter',
  'settings.update': 'Change settings',
  'user.create': 'Create user',
  'user.role': 'Change role',
  'user.password': 'Reset password',
  'user.disable': 'Disable user',
  'user.enable': 'Enable user',
  'setup.admin': 'Create first admin',
};
