/**
 * `@backplane/plugin-api`: the public contract of backplane plugins, the only package a plugin
 * imports from backplane.
 *
 * A plugin is a value made by {@link definePlugin}. Declaring it does no I/O: the kernel reads
 * the manifest, checks it, builds the schema from every plugin's `schema` hook, opens the
 * database with every plugin's entities and migrations, then calls each plugin's `init` in
 * dependency order with services scoped to that plugin.
 *
 * Everything here is types or dependency-free values except `z` (zod) and the argument
 * validators. MikroORM's `defineEntity` and `p` are in `@backplane/plugin-api/entities`; the
 * test kit is `@backplane/plugin-api/testing`.
 *
 * @see docs/plugins.md in the backplane repository
 * @packageDocumentation
 */
export {
  CONTRACT_VERSION,
  definePlugin,
  type PluginDefinition,
  type PluginServices,
  type SchemaHelpers,
  type RestRegistrar,
  type PluginDashboardPage,
} from './define-plugin.ts';
export { apiScopes, requireScope, type ApiScope } from './scopes.ts';
export {
  BACKPLANE_ERROR_BRAND,
  BackplaneError,
  InputError,
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  UnavailableError,
  TimeoutError,
  BackendError,
  httpStatusByCode,
  isBackplaneError,
  hasErrorCode,
  type BackplaneErrorOptions,
  type ErrorCode,
} from './errors.ts';
/** The zod instance plugin config schemas and argument validators are written with. */
export { z } from 'zod';
/** Argument validators shared by every API: job-style ids, log tails, page sizes. */
export { idArg, tailArg, firstArg, cursorArg, absolutePathArg, expandHome } from './validators.ts';
/** Helpers for legacy wire formats (Go's json.Encoder, http.Error, RFC 3339 times). */
export { encodeGoJson, sortedKeys } from './wire/go-json.ts';
export { goTextError } from './wire/go-text-error.ts';
export { formatGoRfc3339 } from './wire/go-time.ts';
export type { EntityManager, EntitySchema } from '@mikro-orm/core';
export type { PluginMigration, MigrationContext, SqlDialect } from './migration.ts';
export type { AuthInfo, GraphQLContext, RestExchange, CorePowers, PluginRuntimeLookup, BackplaneSchemaTypes, Builder, CoreSchemaRefs } from './graphql.ts';
export type { RestRoute, RestRequest, RestReply, RestErrorReplies, HttpMethod, VariableSource, RestProxyTarget, RateLimitClass, RestStream, RestMultipartBody } from './rest.ts';
export type { DatabaseService } from './services/database.ts';
export type { EndpointRegistry, ModelEndpoint, EndpointProtocol } from './services/endpoints.ts';
export type { UploadService, StagedUpload, UploadedFile } from './services/uploads.ts';
export type { UserDirectoryService, DirectoryUser, UserRole, UserAuthentication } from './services/users.ts';
export type { HttpMountService, HttpMountHandler, HttpMountContext, ForwardOptions, ForwardOutcome } from './services/http-mounts.ts';
export type { GpuService, GpuInventoryService, GpuAdmin, GpuInfo, GpuProcess, GpuLease, GpuLeaseHolder, GpuLeaseRequest, GpuInventorySource } from './services/gpus.ts';
export type { HttpClientService, HttpRequestOptions, ProbeResult } from './services/http.ts';
export type { JobService, JobSpec, JobGroupSpec, JobRecord, JobStatus, JobProgress, JobListFilter, ProgressParser, ProgressParserFactory } from './services/jobs.ts';
export type { LifecycleService, ShutdownHook, PluginStatusService, PluginStatus } from './services/lifecycle.ts';
export type { Logger, LogFields } from './services/logger.ts';
export type { ProcessService, RunOptions, RunResult, SpawnOptions, SpawnedProcess } from './services/processes.ts';
export type { PubSubService } from './services/pubsub.ts';
export type { SchedulerService, ScheduleOptions, ScheduledTask, ScheduledRunContext } from './services/scheduler.ts';
export type { ServingRegistry, ServingBackend, ServingInstance, ServingStartSpec, ServingStatus } from './services/serving.ts';
export { ProcessError, PROCESS_ERROR_BRAND, STDERR_TAIL_BYTES, isProcessError, type ProcessFailure } from './process-error.ts';
export { KeyedMutex } from './keyed-mutex.ts';
export type { CliModule, CliCommand, CliAction, CliContext, CliOutput, CliColumn, CliFollowOptions, CliStatusSection } from './cli.ts';
export { confinePath, type ConfinePathOptions } from './confine-path.ts';
export { createConcurrencyLimit } from './concurrency-limit.ts';
export { readTail, splitLines, followLines, type FollowOptions } from './log-file.ts';
export { moveFile } from './move-file.ts';
