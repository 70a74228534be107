// The relay and zod plugins' additions to Pothos' builder and field options (kept in the .d.ts).
/// <reference types="@pothos/plugin-relay" preserve="true" />
/// <reference types="@pothos/plugin-zod" preserve="true" />
import type { EntityManager } from '@mikro-orm/core';
import type { ObjectRef } from '@pothos/core';
import type { ApiScope } from './scopes.ts';
import type { GpuAdmin } from './services/gpus.ts';
import type { JobRecord } from './services/jobs.ts';

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

/**
 * Daemon-wide powers a resolver may use, never handed to a plugin's `init`. Each acts for the
 * caller and checks the caller's scope itself.
 */
export interface CorePowers {
  /** End any GPU lease, whoever owns it (`admin` scope). */
  readonly gpuAdmin: GpuAdmin;
  /**
   * Any plugin's job by id, as the `job(id)` query shows it to the caller (`read` scope): for a
   * field that returns another plugin's job, such as the serving backend's. Read-only; a
   * plugin's own `JobService` acts only on its own jobs.
   */
  readonly jobs: { get(id: string): Promise<JobRecord | undefined> };
}

/**
 * What a resolver receives as its context, built once per GraphQL operation (HTTP, SSE,
 * WebSocket or REST route). The daemon's own context has more (core's services); plugins see
 * this part.
 */
export interface GraphQLContext {
  /** The request's id, also in every log line about it. */
  requestId: string;
  auth: AuthInfo;
  /** This operation's own EntityManager fork, created on first use. */
  em(): EntityManager;
  /** Started plugins' runtime APIs; prefer {@link SchemaHelpers.api} for your own. */
  plugins: PluginRuntimeLookup;
  /** Daemon-wide powers, acting for the caller; see {@link CorePowers}. */
  core: CorePowers;
  /**
   * Subscribe to a pubsub topic by its full name (`core:jobs`); ends when the daemon stops and,
   * in a subscription operation, as soon as that operation's stream ends (its client went away),
   * so an async generator waiting on it runs its `finally` without waiting for an event.
   */
  subscribe<T>(topic: string): AsyncIterableIterator<T>;
  /** The HTTP exchange of the REST route this operation runs for; absent on `/graphql`. */
  rest?: RestExchange;
}

/**
 * The HTTP exchange behind a REST route's operation, for resolvers whose work outlives the
 * operation: a route that proxies (an OpenAI router counting requests in flight) or waits (an
 * on-demand start the client may give up on).
 */
export interface RestExchange {
  /** Aborts when the client goes away before its reply has been sent in full. */
  readonly signal: AbortSignal;
  /**
   * Runs `fn` once the exchange is over: the reply sent (a proxied stream to its end), failed,
   * or the client gone. Runs at once if it is over already.
   */
  onEnd(fn: () => void): void;
}

/** The Pothos type configuration shared by core and every plugin. */
export interface BackplaneSchemaTypes<TContext extends GraphQLContext = GraphQLContext> {
  Context: TContext;
  Scalars: {
    /** An ISO 8601 instant in UTC. */
    DateTime: { Input: Date; Output: Date | string };
    /** Any JSON value. */
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}

/**
 * The one schema builder (Pothos, with the relay and zod plugins): core and each plugin add
 * their types to it, then it is built once. Fields are non-null unless marked `nullable`.
 */
export type Builder<TContext extends GraphQLContext = GraphQLContext> = PothosSchemaTypes.SchemaBuilder<
  PothosSchemaTypes.ExtendDefaultTypes<BackplaneSchemaTypes<TContext>>
>;

/** Core object types plugins may return from their own fields (e.g. a mutation returning `Job`). */
export interface CoreSchemaRefs<TContext extends GraphQLContext = GraphQLContext> {
  Job: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<BackplaneSchemaTypes<TContext>>, JobRecord>;
}
