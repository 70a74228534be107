import type { CorePowers, GraphQLContext as PluginGraphQLContext } from '../../packages/plugin-api/src/graphql.ts';

/** The plugin-facing part of the context is the plugin contract's. */
export type { AuthInfo, CorePowers, PluginRuntimeLookup } from '../../packages/plugin-api/src/graphql.ts';

/** Daemon-wide facts resolvers may read. */
export interface DaemonInfo {
  version: string;
  startedAt: Date;
  plugins(): import('../kernel/plugin-host.ts').PluginState[];
}

/**
 * Core services core's own resolvers use (plugins get theirs through init), and the daemon-wide
 * powers plugin resolvers may use too (`gpuAdmin`, for admin-scoped `releaseGpuLease`).
 */
export interface CoreServices extends CorePowers {
  /** Daemon-wide job powers for core's job resolvers (`job`, `jobs`, `cancelJob`); plugins' job services see only their own jobs. */
  jobs: import('../jobs/job-admin.ts').JobAdmin;
  /** Logins and refreshes for the `login` and `refreshToken` mutations. */
  auth: import('../auth/token-service.ts').TokenService;
  /** The users of the auth store and their API keys (`users`, `createUser`, `createApiKey`, …). */
  users: import('../auth/user-directory.ts').UserDirectory;
}

/**
 * The daemon's context, built once per GraphQL operation (HTTP, SSE, WebSocket or REST route):
 * the plugin contract's {@link PluginGraphQLContext} plus what core's own resolvers use.
 */
export interface GraphQLContext extends PluginGraphQLContext {
  daemon: DaemonInfo;
  core: CoreServices;
  /**
   * Set for subscription operations only: aborted when the stream ends, its client included
   * (see use-subscription-cleanup.ts). A resolver that waits on something other than
   * `subscribe()` (a log file, a timer) stops waiting on it.
   */
  subscriptionSignal?: AbortSignal;
}
