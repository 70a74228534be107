import type { ApiScope } from '../config/schema.ts';

/** The roles a user of the auth store may have, strongest first. */
export const userRoles = ['admin', 'operate', 'read', 'consume'] as const;

/**
 * A user's role: `admin`, `operate` and `read` hold the scope of that name; `consume` holds no
 * daemon scope at all, so such a user may only call the gateway apps it is a consumer of.
 */
export type UserRole = (typeof userRoles)[number];

/** The scopes a role grants on backplane's own API (GraphQL, REST, /metrics). */
export function scopesOfRole(role: UserRole): ApiScope[] {
  return role === 'consume' ? [] : [role];
}

/** The role that describes a config user's scopes (config users have scopes, not roles). */
export function roleOfScopes(scopes: readonly ApiScope[]): UserRole {
  for (const role of ['admin', 'operate', 'read'] as const) if (scopes.includes(role)) return role;
  return 'consume';
}

export function isUserRole(value: string): value is UserRole {
  return (userRoles as readonly string[]).includes(value);
}
