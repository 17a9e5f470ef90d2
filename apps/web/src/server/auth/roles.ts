/** The console's roles, weakest first. Browser-safe. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'reads tasks, workers, settings and the audit log',
  operator: 'also retries and revokes tasks, resizes pools',
  admin: 'also changes the configuration and manages users',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` has at least the rights of `needed`. Unknown roles have none. */
export function hasRole(role: unknown, needed: Role): boolean {
  return isRole(role) && ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
