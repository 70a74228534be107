/** The scopes an API key may hold, weakest first. */
export const apiScopes = ['read', 'operate', 'admin'] as const;

/**
 * A permission an API key holds: `read` (queries, subscriptions), `operate` (mutations) or
 * `admin` (daemon-wide powers).
 */
export type ApiScope = (typeof apiScopes)[number];

/**
 * Field extension that raises the scope an API key needs to call a field. Queries and
 * subscriptions need `read` and mutations `operate` unless a root field asks for more.
 *
 * @example `builder.mutationField('releaseGpuLease', (t) => t.field({ extensions: requireScope('admin'), … }))`
 */
export function requireScope(scope: ApiScope): { backplaneScope: ApiScope } {
  return { backplaneScope: scope };
}
