/** The console's roles, weakest first. Browser-safe. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'reads tasks, workers, queues, dead letters, schedules, settings and the audit log',
  operator:
    'also retries and revokes tasks, resizes pools, changes queues and limits live, purges queues, requeues and deletes dead letters, enables, disables and runs schedules',
  admin: 'also changes the stored settings, defines schedules and manages users',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` has at least the rights of `needed`. Unknown roles have none. */
export function hasRole(role: unknown, needed: Role): boolean {
  return isRole(role) && ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
