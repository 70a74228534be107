import { requireScope, type Builder, type GraphQLContext, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { TritonService } from './service.ts';
import {
  tritonModelStates,
  tritonServerStates,
  type TritonDuration,
  type TritonFleet,
  type TritonFleetModel,
  type TritonHealth,
  type TritonIndexEntry,
  type TritonMetrics,
  type TritonModelStateEvent,
  type TritonModelStats,
  type TritonServer,
  type TritonServerMetadata,
  type TritonServerOutcome,
} from './types.ts';
import { modelNameSchema, serverIdSchema, versionSchema } from './validation.ts';
import { baseUrl } from './triton-client.ts';

/** A model on one server, resolved lazily field by field. */
interface ModelOnServer {
  serverId: string;
  name: string;
  versions: TritonIndexEntry[];
}

/**
 * The plugin's GraphQL: `TritonServer` (health, metadata, metrics, models), `TritonModel`
 * (versions, metadata, config, statistics), the fleet view, the mutations on servers, models
 * and repositories, and the `tritonServerHealthChanged` / `tritonModelStateChanged`
 * subscriptions. Pure: no I/O here.
 */
export function addTritonSchema(builder: Builder, { api }: SchemaHelpers<TritonService>): void {
  const ServerState = builder.enumType('TritonServerState', {
    description: 'UNKNOWN before the first probe; DOWN when nothing answers; NOT_READY when live but not ready.',
    values: tritonServerStates,
  });
  const ModelState = builder.enumType('TritonModelState', { description: "Triton's version states.", values: tritonModelStates });

  const Health = builder.objectRef<TritonHealth>('TritonHealth').implement({
    description: 'The last liveness and readiness probe (`/v2/health/live`, `/v2/health/ready`).',
    fields: (t) => ({
      state: t.field({ type: ServerState, resolve: (h) => h.state }),
      live: t.exposeBoolean('live'),
      ready: t.exposeBoolean('ready'),
      lastError: t.exposeString('lastError', { nullable: true, description: 'Why it is DOWN or NOT_READY, naming the server.' }),
      latencyMs: t.exposeFloat('latencyMs', { nullable: true }),
      checkedAt: t.field({ type: 'DateTime', nullable: true, resolve: (h) => h.checkedAt }),
    }),
  });

  const Metadata = builder.objectRef<TritonServerMetadata>('TritonServerMetadata').implement({
    description: "Triton's `GET /v2`.",
    fields: (t) => ({ name: t.exposeString('name'), version: t.exposeString('version'), extensions: t.exposeStringList('extensions') }),
  });

  const GpuMetrics = builder.objectRef<TritonMetrics['gpus'][number]>('TritonGpuMetrics').implement({
    fields: (t) => ({
      uuid: t.exposeString('uuid'),
      utilization: t.exposeFloat('utilization', { nullable: true, description: '0.0–1.0 (`nv_gpu_utilization`).' }),
      memoryTotalBytes: t.exposeFloat('memoryTotalBytes', { nullable: true }),
      memoryUsedBytes: t.exposeFloat('memoryUsedBytes', { nullable: true }),
      powerWatts: t.exposeFloat('powerWatts', { nullable: true }),
    }),
  });
  const ModelMetrics = builder.objectRef<TritonMetrics['models'][number]>('TritonModelMetrics').implement({
    fields: (t) => ({
      model: t.exposeString('model'),
      version: t.exposeString('version'),
      inferenceCount: t.exposeFloat('inferenceCount'),
      requestSuccess: t.exposeFloat('requestSuccess'),
      requestFailure: t.exposeFloat('requestFailure'),
      executionCount: t.exposeFloat('executionCount'),
    }),
  });
  const Metrics = builder.objectRef<TritonMetrics>('TritonMetrics').implement({
    description: 'Prometheus metrics scraped from the metrics port.',
    fields: (t) => ({
      scrapedAt: t.field({ type: 'DateTime', resolve: (m) => m.scrapedAt }),
      gpus: t.field({ type: [GpuMetrics], resolve: (m) => m.gpus }),
      models: t.field({ type: [ModelMetrics], resolve: (m) => m.models }),
    }),
  });

  const IndexEntry = builder.objectRef<TritonIndexEntry>('TritonModelVersion').implement({
    description: 'One entry of the repository index. A model never loaded has no version and no state.',
    fields: (t) => ({
      name: t.exposeString('name'),
      version: t.exposeString('version', { nullable: true }),
      state: t.field({ type: ModelState, nullable: true, resolve: (e) => e.state }),
      reason: t.exposeString('reason', { nullable: true, description: 'Why it is UNAVAILABLE (`unloaded`, or the load error).' }),
    }),
  });

  const Duration = builder.objectRef<TritonDuration>('TritonDuration').implement({
    fields: (t) => ({ count: t.exposeFloat('count'), ns: t.exposeFloat('ns') }),
  });
  const Stats = builder.objectRef<TritonModelStats>('TritonModelStats').implement({
    description: "Triton's statistics of one READY version (`/v2/models/{m}/stats`).",
    fields: (t) => ({
      name: t.exposeString('name'),
      version: t.exposeString('version'),
      lastInference: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastInference }),
      inferenceCount: t.exposeFloat('inferenceCount'),
      executionCount: t.exposeFloat('executionCount'),
      success: t.field({ type: Duration, resolve: (s) => s.success }),
      fail: t.field({ type: Duration, resolve: (s) => s.fail }),
      queue: t.field({ type: Duration, resolve: (s) => s.queue }),
      computeInput: t.field({ type: Duration, resolve: (s) => s.computeInput }),
      computeInfer: t.field({ type: Duration, resolve: (s) => s.computeInfer }),
      computeOutput: t.field({ type: Duration, resolve: (s) => s.computeOutput }),
    }),
  });


  const Model = builder.objectRef<ModelOnServer>('TritonModel').implement({
    description: 'A model in one server’s repository.',
    fields: (t) => ({
      id: t.string({ description: 'The fleet-wide model id: its Triton name.', resolve: (m) => m.name }),
      serverId: t.exposeString('serverId'),
      name: t.exposeString('name'),
      versions: t.field({ type: [IndexEntry], description: 'Index entries (one name-only entry when never loaded).', resolve: (m) => m.versions }),
      ready: t.boolean({ resolve: (m) => m.versions.some((v) => v.state === 'READY') }),
      metadata: t.field({ type: 'JSON', args: { version: t.arg.string({ validate: { schema: versionSchema }, description: 'A version number; all READY versions when omitted.' }) }, description: "Triton's model metadata (name, versions, platform, inputs, outputs).", resolve: (m, { version }, ctx) => api(ctx).modelMetadata(m.serverId, m.name, version ?? undefined) }),
      config: t.field({ type: 'JSON', args: { version: t.arg.string({ validate: { schema: versionSchema }, description: 'A version number; all READY versions when omitted.' }) }, description: "Triton's model configuration as JSON.", resolve: (m, { version }, ctx) => api(ctx).modelConfig(m.serverId, m.name, version ?? undefined) }),
      stats: t.field({ type: [Stats], args: { version: t.arg.string({ validate: { schema: versionSchema }, description: 'A version number; all READY versions when omitted.' }) }, resolve: (m, { version }, ctx) => api(ctx).stats(m.serverId, m.name, version ?? undefined) }),
    }),
  });

  const Server = builder.objectRef<TritonServer>('TritonServer').implement({
    description: 'A registered Triton Inference Server.',
    fields: (t) => ({
      id: t.exposeString('id', { description: 'Stable id (`t1`… unless chosen at registration).' }),
      host: t.exposeString('host'),
      httpPort: t.exposeInt('httpPort'),
      metricsPort: t.exposeInt('metricsPort', { nullable: true }),
      gpus: t.exposeInt('gpus'),
      repositoryPath: t.exposeString('repositoryPath', { nullable: true, description: 'Local model repository backplane may write (inside repositoryRoots).' }),
      baseUrl: t.string({ resolve: (s) => baseUrl(s) }),
      createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
      updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
      health: t.field({ type: Health, resolve: (s) => s.health }),
      cachedModels: t.stringList({ description: 'Model names of the last index seen (by a probe or call), without asking the server.', resolve: (s, _a, ctx) => [...new Set(api(ctx).cachedIndex(s.id).map((e) => e.name))] }),
      metadata: t.field({ type: Metadata, description: 'Asked now (`GET /v2`).', resolve: (s, _a, ctx) => api(ctx).metadata(s.id) }),
      metrics: t.field({ type: Metrics, nullable: true, description: 'Scraped now; null without a metricsPort.', resolve: (s, _a, ctx) => api(ctx).metrics(s.id) }),
      models: t.field({
        type: [Model],
        description: 'The repository index, asked now (never-loaded models included unless ready: true).',
        args: { ready: t.arg.boolean() },
        resolve: async (s, { ready }, ctx) => groupModels(s.id, await api(ctx).index(s.id, { ready: ready ?? false })),
      }),
      model: t.field({
        type: Model,
        nullable: true,
        args: { name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }) },
        resolve: async (s, { name }, ctx) => groupModels(s.id, (await api(ctx).index(s.id)).filter((e) => e.name === name))[0] ?? null,
      }),
    }),
  });

  const Placement = builder.objectRef<TritonFleetModel['placements'][number] & { name: string }>('TritonPlacement').implement({
    fields: (t) => ({
      serverId: t.exposeString('serverId'),
      ready: t.exposeBoolean('ready'),
      versions: t.field({ type: [IndexEntry], resolve: (p) => p.versions }),
      server: t.field({ type: Server, nullable: true, resolve: (p, _a, ctx) => api(ctx).get(p.serverId) ?? null }),
      metadata: t.field({ type: 'JSON', nullable: true, description: "Triton's model metadata on this server; null when no version is READY or the server does not answer.", resolve: (p, _a, ctx) => (p.ready ? api(ctx).modelMetadata(p.serverId, p.name).catch(() => null) : null) }),
      stats: t.field({ type: [Stats], description: 'Statistics of the READY versions on this server (empty when none).', resolve: (p, _a, ctx) => (p.ready ? api(ctx).stats(p.serverId, p.name).catch(() => []) : []) }),
    }),
  });
  const FleetError = builder.objectRef<TritonFleet['errors'][number]>('TritonFleetError').implement({
    fields: (t) => ({ serverId: t.exposeString('serverId'), message: t.exposeString('message') }),
  });
  const FleetModel = builder.objectRef<TritonFleetModel>('TritonFleetModel').implement({
    description: 'A model across every registered server.',
    fields: (t) => ({
      name: t.exposeString('name'),
      placements: t.field({ type: [Placement], description: 'Servers whose repository has it.', resolve: (m) => m.placements.map((p) => ({ ...p, name: m.name })) }),
      readyOn: t.stringList({ description: 'Ids of the servers where a version is READY.', resolve: (m) => m.placements.filter((p) => p.ready).map((p) => p.serverId) }),
    }),
  });
  const Fleet = builder.objectRef<TritonFleet>('TritonFleet').implement({
    fields: (t) => ({
      models: t.field({ type: [FleetModel], resolve: (f) => f.models }),
      errors: t.field({ type: [FleetError], description: 'Servers that could not be asked (named, with why).', resolve: (f) => f.errors }),
    }),
  });

  const Outcome = builder.objectRef<TritonServerOutcome>('TritonServerOutcome').implement({
    fields: (t) => ({ serverId: t.exposeString('serverId'), ok: t.exposeBoolean('ok'), error: t.exposeString('error', { nullable: true }) }),
  });

  const StateEvent = builder.objectRef<TritonModelStateEvent>('TritonModelStateEvent').implement({
    description: 'A model version changed state (seen by a probe, or the result of a load/unload).',
    fields: (t) => ({
      serverId: t.exposeString('serverId'),
      name: t.exposeString('name'),
      version: t.exposeString('version', { nullable: true, description: 'Null for a load in progress (any version) or a never-loaded model.' }),
      state: t.field({ type: ModelState, nullable: true, resolve: (e) => e.state }),
      reason: t.exposeString('reason', { nullable: true }),
      at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    }),
  });

  const RegisterInput = builder.inputType('RegisterTritonServerInput', {
    fields: (t) => ({
      id: t.string({ description: 'Stable id; `t<N>` when omitted.', validate: { schema: serverIdSchema } }),
      host: t.string({ required: true, description: 'IP address or host name.' }),
      httpPort: t.int({ required: true }),
      metricsPort: t.int(),
      gpus: t.int(),
      repositoryPath: t.string({ description: 'The server’s model repository on this host (inside repositoryRoots), for uploads.' }),
    }),
  });
  const UpdateInput = builder.inputType('UpdateTritonServerInput', {
    fields: (t) => ({ host: t.string(), httpPort: t.int(), metricsPort: t.int(), gpus: t.int(), repositoryPath: t.string() }),
  });
  const FileOverride = builder.inputType('TritonFileOverrideInput', {
    fields: (t) => ({ path: t.string({ required: true, description: 'Relative to the model folder, e.g. 1/model.onnx.' }), base64: t.string({ required: true }) }),
  });

  const modelOn = async (ctx: GraphQLContext, serverId: string, name: string, entries?: TritonIndexEntry[]): Promise<ModelOnServer> => ({
    serverId,
    name,
    versions: entries ?? (await api(ctx).versions(serverId, name)),
  });

  builder.queryFields((t) => ({
    tritonServers: t.field({ type: [Server], description: 'Every registered Triton server, by id.', resolve: (_r, _a, ctx) => api(ctx).list() }),
    tritonServer: t.field({ type: Server, nullable: true, args: { id: t.arg.string({ required: true, validate: { schema: serverIdSchema } }) }, resolve: (_r, { id }, ctx) => api(ctx).get(id) ?? null }),
    tritonModel: t.field({
      type: Model,
      description: 'One model on one server; NOT_FOUND when its repository does not have it.',
      args: { serverId: t.arg.string({ required: true, validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }) },
      resolve: (_r, { serverId, name }, ctx) => modelOn(ctx, serverId, name),
    }),
    tritonFleetModel: t.field({
      type: FleetModel,
      description: 'One model across the fleet (or on one server); NOT_FOUND when no server has it.',
      args: { name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), serverId: t.arg.string({ validate: { schema: serverIdSchema } }) },
      resolve: (_r, { name, serverId }, ctx) => api(ctx).fleetModel(name, serverId ?? undefined),
    }),
    tritonFleet: t.field({
      type: Fleet,
      description: 'Every model on every server, which servers have it and where it is READY (indexes asked now, concurrently).',
      resolve: (_r, _a, ctx) => api(ctx).fleet(),
    }),
  }));

  builder.mutationFields((t) => ({
    registerTritonServer: t.field({ type: Server, description: 'Registers a server and probes it once. CONFLICT for a taken id or address.', args: { input: t.arg({ type: RegisterInput, required: true }) }, resolve: (_r, { input }, ctx) => api(ctx).register(input) }),
    updateTritonServer: t.field({ type: Server, args: { id: t.arg.string({ required: true, validate: { schema: serverIdSchema } }), input: t.arg({ type: UpdateInput, required: true }) }, resolve: (_r, { id, input }, ctx) => api(ctx).update(id, input) }),
    removeTritonServer: t.boolean({ description: 'Forgets a server (its models stay on it); false when unknown.', extensions: requireScope('admin'), args: { id: t.arg.string({ required: true, validate: { schema: serverIdSchema } }) }, resolve: (_r, { id }, ctx) => api(ctx).remove(id) }),
    probeTritonServer: t.field({ type: Server, description: 'Probes now (also runs on a schedule).', args: { id: t.arg.string({ required: true, validate: { schema: serverIdSchema } }) }, resolve: (_r, { id }, ctx) => api(ctx).probe(id) }),
    loadTritonModel: t.field({
      type: Model,
      description: 'Loads (or reloads) a model; optional config JSON and file overrides replace the repository’s for this load.',
      args: { serverId: t.arg.string({ required: true, validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), config: t.arg.string(), files: t.arg({ type: [FileOverride] }) },
      resolve: async (_r, { serverId, name, config, files }, ctx) => modelOn(ctx, serverId, name, await api(ctx).load(serverId, name, { config: config ?? undefined, files: files ?? undefined })),
    }),
    unloadTritonModel: t.field({
      type: Model,
      args: { serverId: t.arg.string({ required: true, validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), unloadDependents: t.arg.boolean({ description: 'Also unload the models depending on it (ensembles).' }) },
      resolve: async (_r, { serverId, name, unloadDependents }, ctx) => modelOn(ctx, serverId, name, await api(ctx).unload(serverId, name, { unloadDependents: unloadDependents ?? false })),
    }),
    loadTritonModelEverywhere: t.field({
      type: [Outcome],
      description: 'Loads a model on every server whose repository has it, concurrently; one outcome per server.',
      args: { name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), config: t.arg.string() },
      resolve: (_r, { name, config }, ctx) => api(ctx).loadEverywhere(name, { config: config ?? undefined }),
    }),
    uploadTritonModel: t.field({
      type: Model,
      description: 'A new model in a server’s local repository from a staged upload (`POST /uploads`): config.pbtxt plus <version>/… files. serverId may be omitted when one server has a local repository.',
      args: { serverId: t.arg.string({ validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), uploadId: t.arg.string({ required: true }), description: t.arg.string() },
      resolve: async (_r, { serverId, name, uploadId, description }, ctx) => {
        const done = await api(ctx).repositories.uploadModel(serverId ?? undefined, name, uploadId, { description: description ?? undefined });
        return modelOn(ctx, done.serverId, name, done.entries);
      },
    }),
    createTritonModelVersion: t.string({
      description: 'A new version from a staged upload; returns its number (the next one unless the files name a version folder). Without serverId: the local repository holding the model.',
      args: { serverId: t.arg.string({ validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), uploadId: t.arg.string({ required: true }) },
      resolve: (_r, { serverId, name, uploadId }, ctx) => api(ctx).repositories.createVersion(serverId ?? undefined, name, uploadId),
    }),
    deleteTritonModelVersion: t.boolean({
      description: 'Removes a version folder (without serverId: from every local repository holding the model) and reloads the model where it is loaded.',
      extensions: requireScope('admin'),
      args: { serverId: t.arg.string({ validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }), version: t.arg.string({ required: true, validate: { schema: versionSchema } }) },
      resolve: async (_r, { serverId, name, version }, ctx) => (await api(ctx).repositories.deleteVersion(serverId ?? undefined, name, version), true),
    }),
    deleteTritonModel: t.boolean({
      description: 'Unloads a model and removes its folder from the server’s local repository (without serverId: from every local repository holding it).',
      extensions: requireScope('admin'),
      args: { serverId: t.arg.string({ validate: { schema: serverIdSchema } }), name: t.arg.string({ required: true, validate: { schema: modelNameSchema } }) },
      resolve: async (_r, { serverId, name }, ctx) => (await api(ctx).repositories.deleteModel(serverId ?? undefined, name), true),
    }),
  }));

  builder.subscriptionFields((t) => ({
    tritonServerHealthChanged: t.field({
      type: Server,
      description: 'Health changes of one server (its current state first), or of every server.',
      args: { id: t.arg.string({ validate: { schema: serverIdSchema } }) },
      subscribe: (_r, { id }, ctx) => watchServers(ctx, api(ctx), id ?? undefined),
      resolve: (s) => s,
    }),
    tritonModelStateChanged: t.field({
      type: StateEvent,
      description: 'Model version state changes, from probes and from load/unload results; with serverId and name, the current entries first.',
      args: { serverId: t.arg.string({ validate: { schema: serverIdSchema } }), name: t.arg.string({ validate: { schema: modelNameSchema } }) },
      subscribe: (_r, { serverId, name }, ctx) => watchModels(ctx, api(ctx), serverId ?? undefined, name ?? undefined),
      resolve: (e) => e,
    }),
  }));
}

function groupModels(serverId: string, entries: TritonIndexEntry[]): ModelOnServer[] {
  const byName = new Map<string, TritonIndexEntry[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  return [...byName].map(([name, versions]) => ({ serverId, name, versions }));
}

async function* watchServers(ctx: GraphQLContext, service: TritonService, id: string | undefined): AsyncGenerator<TritonServer> {
  const updates = ctx.subscribe<TritonServer>(service.serversTopic);
  try {
    const current = id === undefined ? undefined : service.get(id);
    if (current) yield current;
    for await (const server of updates) if (id === undefined || server.id === id) yield server;
  } finally {
    await updates.return?.();
  }
}

async function* watchModels(ctx: GraphQLContext, service: TritonService, serverId: string | undefined, name: string | undefined): AsyncGenerator<TritonModelStateEvent> {
  const updates = ctx.subscribe<TritonModelStateEvent>(service.modelsTopic);
  try {
    // One model on one server: its current entries first (from the last index seen).
    if (serverId !== undefined && name !== undefined && service.get(serverId)) {
      const at = new Date();
      for (const e of service.cachedIndex(serverId)) if (e.name === name) yield { serverId, name, version: e.version, state: e.state, reason: e.reason, at };
    }
    for await (const e of updates) if ((serverId === undefined || e.serverId === serverId) && (name === undefined || e.name === name)) yield e;
  } finally {
    await updates.return?.();
  }
}
