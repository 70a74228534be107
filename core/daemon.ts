import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import packageJson from '../package.json' with { type: 'json' };
import type { BackplaneConfig } from './config/schema.ts';
import { collectTables } from './db/core-tables.ts';
import { createSqlReader } from './db/sql-reader.ts';
import { openDatabase, type Database } from './db/orm.ts';
import { KernelError } from './errors.ts';
import { createGpuAdmin } from './gpus/gpu-admin.ts';
import { GpuManager } from './gpus/gpu-manager.ts';
import { forPluginGpuInventory, forPluginGpus } from './gpus/plugin-gpus.ts';
import { buildSchema } from './graphql/build-schema.ts';
import type { GraphQLContext } from './graphql/context.ts';
import { createGraphQLFastPath } from './graphql/fast-path.ts';
import { attachGraphQLWs } from './graphql/ws.ts';
import { createGraphQLServer } from './graphql/yoga.ts';
import { createDaemonAuth } from './auth/create-auth.ts';
import { createPublicOperationHandler } from './auth/public-operation.ts';
import { createOpenAuthenticator, isLoopback } from './http/auth.ts';
import { createDashboardRoute } from './http/dashboard-route.ts';
import { createHttpApp } from './http/http-app.ts';
import { createHttpMounts } from './http/http-mounts.ts';
import { createListener } from './http/listener.ts';
import { Metrics } from './http/metrics.ts';
import { coreOperations, coreRoutes, coreSchemaModules } from './core-modules.ts';
import { JobManager } from './jobs/job-manager.ts';
import { JobStore } from './jobs/job-store.ts';
import type { EnabledPlugin } from './kernel/load-plugins.ts';
import { orderPlugins } from './kernel/plugin-order.ts';
import { PluginHost, type PluginState } from './kernel/plugin-host.ts';
import type { PluginServices } from './plugin-api.ts';
import { createRestHandler, type OperationExecutor, type SubscriptionExecutor } from './rest/rest-handler.ts';
import { createRestWebSocketHandler } from './rest/rest-websocket.ts';
import { RateLimiter } from './rest/rate-limit.ts';
import { restProfiles } from './rest/profiles.ts';
import { buildRouteTable } from './rest/route-table.ts';
import type { RestRoute } from './rest/route.ts';
import { createModelEndpoints } from './services/endpoint-registry.ts';
import { createHttpClient } from './services/http-service.ts';
import { createUploadStore } from './uploads/upload-store.ts';
import { createLogger, type Logger } from './services/logger-service.ts';
import { createProcessService } from './services/process-service.ts';
import { createPubSub } from './services/pubsub-service.ts';
import { createScheduler } from './services/scheduler-service.ts';
import { createServingBackends } from './services/serving-service.ts';
import { withTimeout } from './util/with-timeout.ts';

/** The daemon's version: package.json's, the one place it is kept. */
export const BACKPLANE_VERSION: string = packageJson.version;

export interface DaemonOptions {
  config: BackplaneConfig;
  /** Enabled plugins with validated config (see resolvePlugins). */
  plugins: readonly EnabledPlugin[];
  logger?: Logger;
}

/** Where the daemon listens once started. */
export interface DaemonAddresses {
  /** `http://host:port` of the main listener. */
  url: string;
  /** Extra listeners of REST profiles with their own `listen`, by `host:port`. */
  rest: Record<string, string>;
}

export interface Daemon {
  /** The schema, built at creation (pure: no backend needed). */
  readonly schema: GraphQLSchema;
  start(): Promise<DaemonAddresses>;
  /** Graceful stop, idempotent, bounded by `kernel.stopDeadlineMs`. */
  stop(): Promise<void>;
  /** A fetch against the main listener (after start), for tests and tools. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  plugins(): PluginState[];
  readonly addresses: DaemonAddresses | undefined;
}

/**
 * Builds a daemon from a validated config. Nothing listens, spawns or opens until `start()`;
 * the schema and REST route table are checked here, so a broken plugin fails before any I/O.
 */
export function createDaemon({ config, plugins, logger = createLogger({ level: config.log.level }) }: DaemonOptions): Daemon {
  const ordered = orderPlugins(plugins.map((p) => p.definition));
  const configById = new Map(plugins.map((p) => [p.definition.id, p.config]));
  const schema = buildSchema(ordered, coreSchemaModules);

  const routes: { owner: string; route: RestRoute }[] = coreRoutes.map((route) => ({ owner: 'core', route }));
  const operations: { owner: string; source: string | URL }[] = coreOperations.map((source) => ({ owner: 'core', source }));
  for (const def of ordered) {
    def.rest?.({ add: (route) => routes.push({ owner: def.id, route }) });
    for (const source of def.operations ?? []) operations.push({ owner: def.id, source });
  }
  const listeners = buildRouteTable({ routes, operations, profiles: restProfiles, config: config.rest.profiles, schema });
  const daemonAuth = createDaemonAuth({ config: config.auth, logger: logger.child({ component: 'auth' }) });
  const authenticator = daemonAuth.authenticator;
  assertSafeBind(config.server.host, authenticator.required);
  // `auth: 'none'` opts a profile's own listener out of the keys (config check keeps it on loopback).
  const withoutKeys = (plan: (typeof listeners)[number]) => plan.listen !== undefined && plan.mounts.some((m) => config.rest.profiles[m.profile.id]?.auth === 'none');
  const goNetHttp = (plan: (typeof listeners)[number] | undefined) => plan?.mounts.some((m) => m.profile.goNetHttp) ?? false;
  for (const l of listeners) if (l.listen) assertSafeBind(l.listen.host, authenticator.required && !withoutKeys(l));

  const startedAt = new Date();
  const metrics = new Metrics();
  const pubsub = createPubSub();
  // Resolved once every plugin's init settled: tasks' `runOnStart` runs begin then (after ready).
  let markBooted!: () => void;
  const booted = new Promise<void>((resolve) => (markBooted = resolve));
  const scheduler = createScheduler(() => database!.orm.em.fork(), { booted });
  const serving = createServingBackends();
  const endpoints = createModelEndpoints();
  let mainRestTemplates: () => readonly string[] = () => [];
  const httpMounts = createHttpMounts({ coreTemplates: () => coreHttpTemplates(config.dashboard.path), restTemplates: () => mainRestTemplates() });
  const uploads = createUploadStore({ root: path.join(config.dataDir, 'uploads'), ttlMs: config.rest.uploadTtlMs });
  const pluginSchedulers = new Map<string, { stopAll(): void }>();
  let database: Database | undefined;
  let jobs: JobManager | undefined;
  let gpus: GpuManager | undefined;
  let stopping = false;
  let stopPromise: Promise<void> | undefined;
  let addresses: DaemonAddresses | undefined;
  const servers: Server[] = [];
  const closers: (() => Promise<void>)[] = [];

  const host = new PluginHost({
    plugins: ordered,
    logger,
    initTimeoutMs: config.kernel.initTimeoutMs,
    stopTimeoutMs: config.kernel.stopTimeoutMs,
    onStatusChange: (state) => pubsub.publish('core:plugins', state),
    releaseScope: (def) => {
      pluginSchedulers.get(def.id)?.stopAll();
      pluginSchedulers.delete(def.id);
      serving.releasePlugin(def.id);
      endpoints.releasePlugin(def.id);
      httpMounts.releasePlugin(def.id);
      gpus?.withdrawInventorySource(def.id);
    },
    createServices(def, scope): PluginServices {
      const log = logger.child({ plugin: def.id });
      const pluginScheduler = scheduler.forPlugin(def.id, log);
      pluginSchedulers.set(def.id, pluginScheduler);
      return {
        pluginId: def.id,
        config: configById.get(def.id),
        dataDir: path.join(config.dataDir, 'plugins', def.id),
        logger: log,
        db: { dialect: database!.dialect, em: () => database!.orm.em.fork() },
        jobs: jobs!.forPlugin(def.id),
        processes: createProcessService({ signal: scope.signal, logger: log }),
        scheduler: pluginScheduler,
        pubsub: pubsub.forPlugin(def.id),
        gpus: forPluginGpus(gpus!, def.id),
        gpuInventory: forPluginGpuInventory(gpus!, def.id),
        serving: serving.forPlugin(def.id),
        endpoints: endpoints.forPlugin(def.id),
        uploads,
        users: daemonAuth.users,
        httpMounts: httpMounts.forPlugin(def.id),
        http: createHttpClient({ signal: scope.signal }),
        lifecycle: { signal: scope.signal, onShutdown: (hook) => void scope.shutdownHooks.push(hook) },
        status: {
          setDegraded: (reason) => scope.setStatus('degraded', reason),
          setReady: (message) => scope.setStatus('ready', message ?? null),
        },
      };
    },
  });

  const gpuAdminLog = logger.child({ component: 'gpus' });
  const createContext = ({ auth, requestId, rest }: { auth: GraphQLContext['auth']; requestId: string; rest?: GraphQLContext['rest'] }): GraphQLContext => {
    let em: ReturnType<Database['orm']['em']['fork']> | undefined;
    return {
      requestId,
      auth,
      ...(rest ? { rest } : {}),
      em: () => (em ??= database!.orm.em.fork()),
      plugins: { get: (id) => host.api(id) },
      daemon: { version: BACKPLANE_VERSION, startedAt, plugins: () => host.list() },
      core: { jobs: jobs!, gpuAdmin: createGpuAdmin(gpus!, auth, gpuAdminLog), auth: daemonAuth.tokens, users: daemonAuth.directory },
      subscribe: (topic) => pubsub.subscribe(topic),
    };
  };
  const yoga = createGraphQLServer({ schema, logger, graphiql: config.server.graphiql, bodyLimitBytes: config.server.bodyLimitBytes, createContext });

  const execute: OperationExecutor = async ({ document, variables, auth, requestId, rest }) => {
    const enveloped = yoga.getEnveloped({ auth, requestId, rest } as never);
    const contextValue = await enveloped.contextFactory();
    const result = await enveloped.execute({ schema: enveloped.schema, document, variableValues: variables, contextValue });
    return result as Awaited<ReturnType<OperationExecutor>>;
  };

  const subscribe: SubscriptionExecutor = async ({ document, variables, auth, requestId }) => {
    const enveloped = yoga.getEnveloped({ auth, requestId } as never);
    const contextValue = await enveloped.contextFactory();
    return (await enveloped.subscribe({ schema: enveloped.schema, document, variableValues: variables, contextValue })) as Awaited<ReturnType<SubscriptionExecutor>>;
  };

  const listen = (server: Server, host: string, port: number) =>
    new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });

  async function start(): Promise<DaemonAddresses> {
    if (addresses) return addresses;
    await mkdir(config.dataDir, { recursive: true });
    await mkdir(path.join(config.dataDir, 'uploads'), { recursive: true });
    await uploads.sweep();
    for (const def of ordered) await mkdir(path.join(config.dataDir, 'plugins', def.id), { recursive: true });

    const { entities, migrations } = collectTables(ordered);
    database = await openDatabase({ url: config.database.url, dataDir: config.dataDir, entities, migrations, logger: logger.child({ component: 'db' }), debug: config.database.debug });
    const fork = () => database!.orm.em.fork();
    gpus = new GpuManager({ fork, logger: logger.child({ component: 'gpus' }) });
    const store = new JobStore(fork, await createSqlReader(database));
    await daemonAuth.start({ fork, dataDir: config.dataDir });
    const secretEnv = [...config.auth.keys.flatMap((key) => (key.keyEnv ? [key.keyEnv] : [])), ...(config.auth.jwt.secretEnv ? [config.auth.jwt.secretEnv] : [])];
    jobs = new JobManager({ store, dataDir: config.dataDir, logger: logger.child({ component: 'jobs' }), pubsub, gpus, ...config.jobs, secretEnv });
    // Leases first: a job the reconciler then settles gives its GPUs back before its status is
    // written, as every settle does.
    await gpus.restore(async (holder) => {
      if (holder.kind !== 'job') return true; // servers: their plugin reconciles them at init
      const job = await store.get(holder.id);
      return job !== undefined && (job.status === 'running' || job.status === 'queued');
    });
    await jobs.start();

    const ready = () => !stopping && host.booted;
    // One limiter per listener, shared by its requests and its WebSocket upgrades.
    const rateLimiters = new Map(listeners.map((l) => [l.id, new RateLimiter()]));
    const restHandler = (plan: (typeof listeners)[number]) =>
      createRestHandler({ plan, execute, subscribe, bodyLimitBytes: config.server.bodyLimitBytes, uploads, uploadLimitBytes: config.rest.maxUploadBytes, logger: logger.child({ component: 'rest' }), rateLimiter: rateLimiters.get(plan.id) });
    const fastPath = createGraphQLFastPath({ yoga, schema, bodyLimitBytes: config.server.bodyLimitBytes });
    const publicOperation = createPublicOperationHandler({ yoga, schema, bodyLimitBytes: config.server.bodyLimitBytes, rateLimit: config.auth.loginRateLimit });
    const appOptions = { yoga, fastPath, authenticator, uploads, uploadLimitBytes: config.rest.maxUploadBytes, publicOperation, metrics, corsOrigins: config.server.cors.origins, logger, plugins: () => host.list(), ready };
    const mainPlan = listeners.find((l) => l.id === 'main');
    mainRestTemplates = () => mainPlan?.mounts.flatMap((m) => m.routes.map((r) => r.template)) ?? [];
    // The dashboard yields every path a main-listener REST route matches (profiles mount at `/`).
    const dashboard = config.dashboard.enabled
      ? createDashboardRoute({ path: config.dashboard.path, plugins: ordered, claimedByRest: (p) => mainPlan?.mounts.some((m) => m.routes.some((r) => r.pattern.test(p))) ?? false })
      : undefined;
    const mainApp = createHttpApp({ ...appOptions, main: true, dashboard, mounts: httpMounts, rest: mainPlan ? restHandler(mainPlan) : undefined });
    const mainServer = createListener(mainApp, { goNetHttp: goNetHttp(mainPlan) });
    servers.push(mainServer);
    const restWs = mainPlan
      ? createRestWebSocketHandler({ plan: mainPlan, subscribe, authenticator, rateLimiter: rateLimiters.get(mainPlan.id)!, maxPayloadBytes: config.server.bodyLimitBytes, logger: logger.child({ component: 'rest' }) })
      : undefined;
    const ws = attachGraphQLWs({ server: mainServer, yoga, authenticator, maxPayloadBytes: config.server.bodyLimitBytes, logger: logger.child({ component: 'graphql-ws' }), otherUpgrade: restWs?.handleUpgrade });
    closers.push(() => ws.close());
    if (restWs) closers.push(() => restWs.close());
    const mainUrl = urlOf(await listen(mainServer, config.server.host, config.server.port));

    const restUrls: Record<string, string> = {};
    for (const plan of listeners) {
      if (plan.id === 'main' || !plan.listen) continue;
      const open = withoutKeys(plan);
      if (open && authenticator.required) logger.warn('serving REST profiles without API keys (auth: none)', { listener: plan.id, profiles: plan.mounts.map((m) => m.profile.id) });
      const app = createHttpApp({ ...appOptions, authenticator: open ? createOpenAuthenticator() : authenticator, main: false, rest: restHandler(plan) });
      const server = createListener(app, { goNetHttp: goNetHttp(plan) });
      servers.push(server);
      restUrls[plan.id] = urlOf(await listen(server, plan.listen.host, plan.listen.port));
    }
    addresses = { url: mainUrl, rest: restUrls };
    logger.info('listening', { url: mainUrl, graphql: `${mainUrl}/graphql`, rest: restUrls });

    await host.startAll();
    markBooted();
    await jobs.resumeQueue();
    await jobs.resumeGroups();
    logger.info('ready', { plugins: host.list().map(({ id, status }) => `${id}:${status}`) });
    return addresses;
  }

  async function doStop(): Promise<void> {
    stopping = true;
    logger.info('stopping');
    pubsub.close();
    for (const close of closers) await close().catch((error) => logger.warn('closing WebSockets failed', { error }));
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            server.close(() => resolve());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs).unref();
          }),
      ),
    );
    await host.stopAll();
    await uploads.close();
    await jobs?.stop();
    gpus?.close();
    await yoga.dispose();
    await database?.close();
    logger.info('stopped');
  }

  return {
    schema,
    start,
    stop() {
      stopPromise ??= withTimeout(doStop(), config.kernel.stopDeadlineMs, () => new Error(`stop did not finish within ${config.kernel.stopDeadlineMs} ms`)).catch((error) => {
        logger.error('stop failed', { error });
        for (const server of servers) server.closeAllConnections();
        throw error;
      });
      return stopPromise;
    },
    fetch(requestPath, init) {
      if (!addresses) throw new Error('the daemon is not started');
      return fetch(new URL(requestPath, addresses.url), init);
    },
    plugins: () => host.list(),
    get addresses() {
      return addresses;
    },
  };
}

/** No API keys means no authentication: then only a loopback address is allowed. */
function assertSafeBind(host: string, keysConfigured: boolean): void {
  if (keysConfigured || isLoopback(host)) return;
  throw new KernelError(
    'BP_ERR_INSECURE_BIND',
    `refusing to listen on ${host} without API keys. Bind to 127.0.0.1, or configure keys under auth.keys (name, keyEnv or keyFile, scopes: [read, operate, admin]); see docs/security.md`,
  );
}

/** What the main listener serves itself, as route templates (plugins' HTTP mounts may not overlap them). */
function coreHttpTemplates(dashboardPath: string): string[] {
  const own = ['/healthz', '/readyz', '/metrics', '/uploads', '/graphql/{rest*}', '/dashboard-plugins/{rest*}'];
  // A dashboard at `/` yields every path something else serves; under a prefix it owns that prefix.
  return dashboardPath === '/' ? own : [...own, `${dashboardPath}{rest*}`];
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

