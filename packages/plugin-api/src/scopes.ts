/** The scopes an API key may hold, weakest first. */
export const apiScopes = ['inference', 'read', 'operate', 'admin'] as const;

/**
 * A permission an API key holds: `read` (queries, subscriptions), `operate` (mutations) or
 * `admin` (daemon-wide powers); each includes the ones before it. `inference` is a side
 * scope: only the fields that ask for it (a model router's, such as llama-cpp's `/v1/*`), no
 * reads; `operate` and `admin` include it.
 */
export type ApiScope = (typeof apiScopes)[number];

/**
 * Field extension that sets the scope an API key needs to call a field. Queries and
 * subscriptions need `read` and mutations `operate` unless a root field asks for more, or
 * for `inference` (a field a key holding only `inference` may call).
 *
 * @example `builder.mutationField('releaseGpuLease', (t) => t.field({ extensions: requireScope('admin'), … }))`
 */
export function requireScope(scope: ApiScope): { backplaneScope: ApiScope } {
  return { backplaneScope: scope };
}
