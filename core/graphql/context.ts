import type { EntityManager } from '@mikro-orm/core';
import type { ApiScope } from '../config/schema.ts';

/** Who is calling. With no API keys configured (loopback only) the caller holds every scope. */
export interface AuthInfo {
  /** The API key's name, or `anonymous`. */
  principal: string;
  scopes: ReadonlySet<ApiScope>;
}

/** Looks up a started plugin's runtime API (what its `init` returned). */
export interface PluginRuntimeLookup {
  get(pluginId: string): unknown;
}

/** Daemon-wide facts resolvers may read. */
export interface DaemonInfo {
  version: string;
  startedAt: Date;
  plugins(): import('../kernel/plugin-host.ts').PluginState[];
}

/** Core services core's own resolvers use (plugins get theirs through init). */
export interface CoreServices {
  jobs: import('../jobs/job-manager.ts').JobManager;
  gpus: import('../services/gpu-service.ts').GpuService;
}

/** Built once per GraphQL operation (HTTP, SSE, WebSocket or REST route). */
export interface GraphQLContext {
  requestId: string;
  auth: AuthInfo;
  /** This operation's own EntityManager fork, created on first use. */
  em(): EntityManager;
  plugins: PluginRuntimeLookup;
  daemon: DaemonInfo;
  core: CoreServices;
  /** Subscribe to a pubsub topic by its full name (`core:jobs`); ends when the daemon stops. */
  subscribe<T>(topic: string): AsyncIterableIterator<T>;
}
