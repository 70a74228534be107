/**
 * The plugin manifest and the services a plugin's `init` receives.
 *
 * A plugin is a value made by {@link definePlugin}. Declaring it does no I/O: the kernel reads
 * the manifest, checks it, builds the schema from every plugin's {@link PluginDefinition.schema},
 * opens the database with every plugin's entities and migrations, then calls each plugin's
 * {@link PluginDefinition.init} in dependency order with services scoped to that plugin.
 *
 * @module
 */
import type { EntitySchema } from '@mikro-orm/core';
import type { z } from 'zod';
import type { CliModule } from './cli.ts';
import type { Builder, CoreSchemaRefs, GraphQLContext } from './graphql.ts';
import type { PluginMigration } from './migration.ts';
import type { RestRoute } from './rest.ts';
import type { DatabaseService } from './services/database.ts';
import type { GpuInventoryService, GpuService } from './services/gpus.ts';
import type { HttpClientService } from './services/http.ts';
import type { JobService } from './services/jobs.ts';
import type { LifecycleService, PluginStatusService } from './services/lifecycle.ts';
import type { Logger } from './services/logger.ts';
import type { ProcessService } from './services/processes.ts';
import type { PubSubService } from './services/pubsub.ts';
import type { SchedulerService } from './services/scheduler.ts';
import type { ServingRegistry } from './services/serving.ts';
import type { EndpointRegistry } from './services/endpoints.ts';
import type { UploadService } from './services/uploads.ts';
import type { UserDirectoryService } from './services/users.ts';
import type { HttpMountService } from './services/http-mounts.ts';

/** The contract version this build of backplane implements. Plugins may state a range. */
export const CONTRACT_VERSION = '1.0.0';

/**
 * The services handed to {@link PluginDefinition.init}. Every one is scoped to the plugin:
 * its logger is tagged with the plugin id, its scheduled tasks, commands and HTTP calls stop
 * when the plugin stops, and its pubsub topics are prefixed with its id.
 */
export interface PluginServices<TConfig = unknown> {
  /** The plugin's id. */
  readonly pluginId: string;
  /** The plugin's own section of the config (`plugins.<id>`), validated by its `configSchema`. */
  readonly config: TConfig;
  /** A directory the plugin may write to: `<dataDir>/plugins/<id>`, created before init. */
  readonly dataDir: string;
  /** Structured JSON logging; every line carries `plugin: <id>`. */
  readonly logger: Logger;
  /** Database access through forked EntityManagers; see {@link DatabaseService}. */
  readonly db: DatabaseService;
  /** Long-running external work with logs, progress, cancel and restart survival. */
  readonly jobs: JobService;
  /** Short external commands (argv arrays, never a shell). */
  readonly processes: ProcessService;
  /** Periodic work with no overlap and a timeout per run. */
  readonly scheduler: SchedulerService;
  /** Live updates for subscriptions. Topics are prefixed with the plugin id. */
  readonly pubsub: PubSubService;
  /** GPU inventory and leases; the plugin ends only the leases it acquired. */
  readonly gpus: GpuService;
  /** A daemon-wide power: provide the one GPU inventory source (the nvidia-smi plugin does). */
  readonly gpuInventory: GpuInventoryService;
  /** Model-serving backends other plugins can start servers through (an extension point); yours are removed when you stop. */
  readonly serving: ServingRegistry;
  /**
   * Model endpoints every serving plugin publishes (Triton models, vLLM servers, llama.cpp
   * instances) for other plugins, such as the gateway, to route to; yours are withdrawn when you stop.
   */
  readonly endpoints: EndpointRegistry;
  /** Multipart bodies core staged on disk (REST `body: 'multipart'`, `POST /uploads`): claim, move, discard. */
  readonly uploads: UploadService;
  /** The daemon's users (core's auth store), read-only, and the check of a user's API key or token. */
  readonly users: UserDirectoryService;
  /** Raw HTTP under a path prefix of the main listener, core's streaming forwarder, `/metrics` lines. */
  readonly httpMounts: HttpMountService;
  /** Outbound HTTP with timeouts (health probes, backend admin APIs). */
  readonly http: HttpClientService;
  /** Shutdown hooks and the plugin's stop signal. */
  readonly lifecycle: LifecycleService;
  /** Report the backend going away (`degraded`) or coming back (`ready`). */
  readonly status: PluginStatusService;
}

/** What {@link PluginDefinition.schema} receives besides the builder. */
export interface SchemaHelpers<TApi> {
  readonly pluginId: string;
  /**
   * The plugin's runtime API (the value `init` returned) for use in resolvers. Throws a coded
   * `UNAVAILABLE` error while the plugin is not started, or when its init failed.
   */
  api(context: GraphQLContext): TApi;
  /**
   * Core types a plugin may use in its own fields, e.g. `t.field({ type: refs.Job, … })` for a
   * mutation that starts a job and returns it (resolve to the `JobRecord` the job service gave).
   */
  refs: CoreSchemaRefs;
}

/** Adds legacy REST routes; see {@link RestRoute}. */
export interface RestRegistrar {
  add(route: RestRoute): void;
}

/**
 * A plugin manifest.
 *
 * @typeParam TConfigSchema - zod schema of the plugin's config section.
 * @typeParam TApi - what `init` returns; resolvers reach it through {@link SchemaHelpers.api}.
 */
export interface PluginDefinition<TConfigSchema extends z.ZodType = z.ZodType, TApi = unknown> {
  /** Kebab-case, unique. Also the config key (`plugins.<id>`) and the pubsub namespace. */
  id: string;
  /** The plugin's own semver version, shown in `Query.plugins`. */
  version: string;
  /** One line for `backplane --help` and docs. */
  description?: string;
  /**
   * The contract versions the plugin was written for, as `^1` or `>=1.0.0`.
   * @default `^1`
   */
  contract?: string;
  /** Plugins that must be enabled and started first. A missing one is a boot error. */
  dependsOn?: readonly string[];
  /** Plugins started first when they are enabled; no error when they are not. */
  optionalDependsOn?: readonly string[];
  /**
   * Validates `plugins.<id>` (without the kernel's own `enabled` and `module` keys, which are
   * removed first). Defaults belong here. Errors are reported as `plugins.<id>.<path>: reason`.
   */
  configSchema?: TConfigSchema;
  /** MikroORM entity schemas (`defineEntity`) the plugin stores. Table names should start with the plugin's prefix. */
  entities?: readonly EntitySchema[];
  /** Versioned schema changes for the plugin's tables, applied at start in order. */
  migrations?: readonly PluginMigration[];
  /**
   * GraphQL documents holding the named operations the plugin's REST routes run: document text,
   * or a `file:` URL of a `.graphql` file.
   */
  operations?: readonly (string | URL)[];
  /**
   * What the kernel does when `init` throws or times out. `degrade` (the default) keeps the
   * daemon running with the plugin reported as `failed` (or `degraded` for an `UNAVAILABLE`
   * error, such as a missing backend binary); `abort` stops the boot.
   */
  onInitFailure?: 'degrade' | 'abort';
  /** Overrides `kernel.initTimeoutMs` for this plugin's init. */
  initTimeoutMs?: number;
  /** Starts the plugin. May do I/O. Returns the runtime API resolvers use. */
  init?(services: PluginServices<z.output<TConfigSchema>>): Promise<TApi> | TApi;
  /**
   * Adds types and fields to the shared schema. Must be pure: no I/O, no backend needed, so the
   * schema prints on any machine. Resolvers reach the runtime only through `helpers.api(ctx)`.
   * Name types with a plugin prefix where a clash is plausible (`VllmServer`, not `Server`).
   */
  schema?(builder: Builder, helpers: SchemaHelpers<TApi>): void;
  /** Declares legacy REST routes (data only). They run GraphQL operations; never services. */
  rest?(routes: RestRegistrar): void;
  /**
   * The module of the plugin's `backplane` client commands (`backplane ilab train …`): a
   * `file:` URL (`new URL('./cli.ts', import.meta.url)`) or a specifier resolved like the
   * plugin's own `module`. It must export a {@link CliModule} (`register(program, context)`).
   * It is a reference, not code, so the client imports only that module and none of the
   * plugin's init or schema code; the commands talk to the daemon over GraphQL.
   * @see docs/cli.md
   */
  cli?: string | URL;
  /**
   * A page the plugin adds to the web dashboard (docs/dashboard.md): a browser ES module, listed
   * in the dashboard's navigation under `title` and served by the daemon at
   * `/dashboard-plugins/<id>/<file name>` (public, like the page itself: put no secrets in it).
   * The module is loaded as is (no bundler), so it must be self-contained JavaScript that
   * imports nothing, and it must `export default function mount(element, context)`: render into
   * `element`, use `context.graphql(query, variables)` for data (it sends the dashboard's key and
   * resolves to `{ data, errors }`), hide controls the caller may not use (`context.scopes`), and
   * return a function that cleans up (called when the user leaves the page).
   * @example `dashboard: { title: 'Hello', module: new URL('./dashboard/hello-page.js', import.meta.url) }`
   * @see docs/plugins.md#a-dashboard-page
   */
  dashboard?: PluginDashboardPage;
}

/** A plugin's page in the web dashboard; see {@link PluginDefinition.dashboard}. */
export interface PluginDashboardPage {
  /** The navigation label and page heading, e.g. `Triton`. At most 40 characters. */
  title: string;
  /** A `file:` URL of a browser ES module (`.js` or `.mjs`) that default-exports `mount(element, context)`. */
  module: URL | string;
}

/**
 * Declares a plugin. Returns the definition unchanged; the kernel validates it when loading.
 *
 * @example
 * ```ts
 * export const helloPlugin = definePlugin({
 *   id: 'hello', version: '1.0.0',
 *   configSchema: z.object({ greeting: z.string().default('hi') }),
 *   init: ({ config }) => ({ greet: (name: string) => `${config.greeting}, ${name}` }),
 *   schema(builder, { api }) {
 *     builder.queryField('hello', (t) => t.string({ args: { name: t.arg.string({ required: true }) },
 *       resolve: (_, { name }, ctx) => api(ctx).greet(name) }));
 *   },
 * });
 * ```
 */
export function definePlugin<TConfigSchema extends z.ZodType = z.ZodObject<{}>, TApi = void>(
  definition: PluginDefinition<TConfigSchema, TApi>,
): PluginDefinition<TConfigSchema, TApi> {
  return definition;
}
