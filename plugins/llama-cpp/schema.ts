import { firstArg, InputError, z, type Builder, type GraphQLContext, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { LlamaInstanceView } from './instance-registry.ts';
import type { LlamaCppService } from './service.ts';
import { llamaInstanceStatuses, type LlamaHealth, type LlamaInstanceOptions, type LlamaStats } from './types.ts';
import { instanceNameSchema, stopTimeoutSchema } from './validation.ts';

/** Input object fields whose explicit `null` means something (reset); other nulls mean "not given". */
const nullable = new Set(['threads', 'group']);

/** GraphQL input → the service's zod input: absent and null fields dropped (but meaningful nulls). */
function compact(value: Record<string, unknown> | null | undefined): Record<string, unknown> | undefined {
  if (value == null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || (v === null && !nullable.has(key))) continue;
    out[key] = v !== null && typeof v === 'object' && !Array.isArray(v) ? compact(v as Record<string, unknown>) : v;
  }
  return out;
}

const nameArg = { required: true, validate: { schema: instanceNameSchema } } as const;

/**
 * The plugin's GraphQL: `LlamaInstance` with `llamaInstances` (a connection), `llamaInstance`,
 * the create/update/delete/start/stop/restart/start-all/stop-all mutations and the
 * `llamaInstanceUpdated` subscription. Live logs are core's `jobLog(id: instance.jobId)`.
 * Pure: no I/O here.
 */
export function addLlamaSchema(builder: Builder, { api, refs }: SchemaHelpers<LlamaCppService>): void {
  const StatusEnum = builder.enumType('LlamaInstanceStatus', {
    description: 'stopped → starting (spawned, model loading) → running (GET /health answered 200); restarting waits out a crash back-off; failed gave up (see message).',
    values: llamaInstanceStatuses,
  });
  const HealthStateEnum = builder.enumType('LlamaHealthState', {
    values: {
      ok: { description: 'GET /health answered 200.' },
      loading: { description: 'GET /health answered 503 (the model is loading).' },
      down: { description: 'No answer, or another status.' },
      unknown: { description: 'Not probed yet in this run.' },
    } as const,
  });

  const Health = builder.objectRef<LlamaHealth>('LlamaHealth').implement({
    description: 'The latest health probe (`GET /health`) of the current run.',
    fields: (t) => ({
      state: t.field({ type: HealthStateEnum, resolve: (h) => h.state }),
      lastCheckAt: t.field({ type: 'DateTime', nullable: true, resolve: (h) => h.lastCheckAt }),
      latencyMs: t.exposeFloat('latencyMs', { nullable: true }),
      failureCount: t.exposeInt('failureCount', { description: 'Consecutive failed probes; a running instance is restarted at `unhealthyThreshold`.' }),
      httpStatus: t.exposeInt('httpStatus', { nullable: true }),
      error: t.exposeString('error', { nullable: true }),
    }),
  });

  const Stats = builder.objectRef<LlamaStats>('LlamaStats').implement({
    description: 'Resource use of the current run: /proc and llama-server’s /metrics, sampled with each health probe.',
    fields: (t) => ({
      rssBytes: t.exposeFloat('rssBytes', { nullable: true }),
      cpuPercent: t.exposeFloat('cpuPercent', { nullable: true, description: 'Percent of one core since the previous sample.' }),
      uptimeSeconds: t.exposeInt('uptimeSeconds', { nullable: true }),
      tokensPerSecond: t.exposeFloat('tokensPerSecond', { nullable: true, description: 'Mean generation speed of this run (`tokens_predicted_total / tokens_predicted_seconds_total`).' }),
      promptTokensPerSecond: t.exposeFloat('promptTokensPerSecond', { nullable: true, description: 'Mean prompt processing speed of this run.' }),
      tokensPredictedTotal: t.exposeFloat('tokensPredictedTotal', { nullable: true }),
      requestsProcessing: t.exposeInt('requestsProcessing', { nullable: true }),
      sampledAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.sampledAt }),
    }),
  });

  const Options = builder.objectRef<LlamaInstanceOptions>('LlamaInstanceOptions').implement({
    fields: (t) => ({
      threads: t.exposeInt('threads', { nullable: true, description: '`--threads`; null: llama-server decides.' }),
      ctxSize: t.exposeInt('ctxSize', { description: '`--ctx-size` (0: the model’s own).' }),
      gpuLayers: t.exposeInt('gpuLayers', { description: '`--n-gpu-layers` (-1: all).' }),
      parallel: t.exposeInt('parallel', { description: '`--parallel` slots.' }),
      aliases: t.exposeStringList('aliases', { description: 'Extra names the router accepts as `model`.' }),
      extraArgs: t.exposeStringList('extraArgs', { description: 'Allow-listed extra llama-server flags.' }),
      gpuCount: t.exposeInt('gpuCount'),
      gpuIndices: t.exposeIntList('gpuIndices'),
      autoRestart: t.exposeBoolean('autoRestart'),
      maxRestarts: t.exposeInt('maxRestarts'),
      onDemandStart: t.exposeBoolean('onDemandStart'),
      idleTimeoutMinutes: t.exposeFloat('idleTimeoutMinutes', { description: 'Stop after this many minutes without requests (fractions allowed); 0: never.' }),
      group: t.exposeString('group', { nullable: true }),
    }),
  });

  const Lease = builder.objectRef<{ id: string; indices: number[]; cudaVisibleDevices: string; createdAt: Date }>('LlamaGpuLease').implement({
    fields: (t) => ({
      id: t.exposeString('id'),
      indices: t.exposeIntList('indices'),
      cudaVisibleDevices: t.exposeString('cudaVisibleDevices'),
      createdAt: t.field({ type: 'DateTime', resolve: (l) => l.createdAt }),
    }),
  });

  const Instance = builder.objectRef<LlamaInstanceView>('LlamaInstance').implement({
    description: 'A llama.cpp llama-server instance: one model on one port, supervised by backplane.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'llamactl’s rule: letters, digits, "-" and "_", at most 50.' }),
      status: t.field({ type: StatusEnum, resolve: (s) => s.status }),
      message: t.exposeString('message', { nullable: true, description: 'Why it failed or stopped (with the end of its log), or what it waits for.' }),
      desired: t.exposeString('desired', { description: '`running` or `stopped`: what was last asked for.' }),
      modelPath: t.exposeString('modelPath', { description: 'Real path of the GGUF file.' }),
      modelSizeBytes: t.exposeFloat('modelSizeBytes'),
      vramEstimateMiB: t.exposeInt('vramEstimateMiB', { description: 'Model size times the share of layers offloaded; what VRAM budgets count.' }),
      host: t.exposeString('host'),
      port: t.exposeInt('port'),
      baseUrl: t.string({ description: 'Where its llama-server answers (`/health`, `/v1/…`).', resolve: (s, _a, ctx) => api(ctx).baseUrl(s.name) }),
      options: t.field({ type: Options, resolve: (s) => s.options }),
      pid: t.exposeInt('pid', { nullable: true }),
      jobId: t.exposeString('jobId', { nullable: true, description: 'The current (or last) run’s job: follow its output with `jobLog(id: jobId)`.' }),
      job: t.field({ type: refs.Job, nullable: true, resolve: async (s, _a, ctx) => (s.jobId ? ((await ctx.core.jobs.get(s.jobId)) ?? null) : null) }),
      gpus: t.exposeIntList('gpus', { description: 'GPU indices leased to the current run.' }),
      gpuLease: t.field({ type: Lease, nullable: true, resolve: (s, _a, ctx) => api(ctx).gpuLease(s.name) ?? null }),
      health: t.field({ type: Health, resolve: (s) => s.health }),
      stats: t.field({ type: Stats, nullable: true, resolve: (s) => (s.status === 'running' || s.status === 'starting' ? s.stats : null) }),
      inFlight: t.exposeInt('inFlight', { description: 'Requests being proxied to it now.' }),
      restartCount: t.exposeInt('restartCount', { description: 'Crash restarts since the last manual start or stable period.' }),
      nextRestartAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.nextRestartAt }),
      exitCode: t.exposeInt('exitCode', { nullable: true }),
      lastRequestAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastRequestAt }),
      createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
      updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
      startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.startedAt }),
      readyAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.readyAt }),
      stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.stoppedAt }),
      recentLogs: t.stringList({
        description: 'The last lines of the current (or last) run’s log.',
        args: { lines: t.arg.int({ defaultValue: 100, validate: { schema: z.number().int().min(0).max(10_000) } }) },
        resolve: (s, { lines }, ctx) => api(ctx).recentLogs(s.name, lines ?? 100),
      }),
    }),
  });

  const OptionsInput = builder.inputType('LlamaInstanceOptionsInput', {
    description: 'Unset fields keep their current value (update) or the default (create).',
    fields: (t) => ({
      threads: t.int({ description: 'null: llama-server decides.' }),
      ctxSize: t.int(),
      gpuLayers: t.int(),
      parallel: t.int(),
      aliases: t.stringList(),
      extraArgs: t.stringList({ description: 'Allow-listed llama-server flags, e.g. ["--flash-attn", "on", "--jinja"]; others are BAD_USER_INPUT.' }),
      gpuCount: t.int({ description: 'Lease this many free GPUs (default: 1 when gpuLayers ≠ 0, else 0).' }),
      gpuIndices: t.intList({ description: 'Lease exactly these GPUs.' }),
      autoRestart: t.boolean(),
      maxRestarts: t.int(),
      onDemandStart: t.boolean(),
      idleTimeoutMinutes: t.float({ description: 'Stop after this many minutes without requests (fractions allowed: 0.5 is 30 s); 0: never.' }),
      group: t.string({ description: 'A budget group of the config (`groups`); null: none.' }),
    }),
  });

  const CreateInput = builder.inputType('CreateLlamaInstanceInput', {
    fields: (t) => ({
      name: t.string({ required: true }),
      modelPath: t.string({ required: true, description: 'A GGUF file inside one of the configured model roots.' }),
      port: t.int({ description: 'Fixed port; picked from the configured range when absent.' }),
      options: t.field({ type: OptionsInput }),
    }),
  });

  const UpdateInput = builder.inputType('UpdateLlamaInstanceInput', {
    fields: (t) => ({ modelPath: t.string(), port: t.int(), options: t.field({ type: OptionsInput }) }),
  });

  const timeoutArg = { description: 'Seconds between SIGTERM and SIGKILL (default: config stopTimeoutSeconds).', validate: { schema: stopTimeoutSchema } } as const;
  const forceArg = { description: 'SIGKILL at once.' } as const;

  builder.queryFields((t) => ({
    llamaInstances: t.connection({
      type: Instance,
      description: 'Instances by name. Forward paging (`first`, `after`).',
      args: { status: t.arg({ type: StatusEnum }) },
      resolve: (_r, args, ctx) => {
        if (args.last != null || args.before != null) throw new InputError('llamaInstances pages forward only: use first and after');
        const first = firstArg.safeParse(args.first ?? 100);
        if (!first.success) throw new InputError(`Invalid argument first: ${first.error.issues[0].message}`);
        const all = api(ctx)
          .list()
          .filter((s) => args.status == null || s.status === args.status);
        const from = args.after == null ? 0 : all.findIndex((s) => s.name > String(args.after));
        const page = from === -1 ? [] : all.slice(from, from + first.data);
        const edges = page.map((node) => ({ cursor: node.name, node }));
        const last = edges.at(-1);
        return {
          edges,
          pageInfo: {
            hasNextPage: last !== undefined && all.some((s) => s.name > last.cursor),
            hasPreviousPage: args.after != null,
            startCursor: edges[0]?.cursor ?? null,
            endCursor: last?.cursor ?? null,
          },
        };
      },
    }),
    llamaInstance: t.field({ type: Instance, nullable: true, args: { name: t.arg.string(nameArg) }, resolve: (_r, { name }, ctx) => api(ctx).get(name) ?? null }),
  }));

  builder.mutationFields((t) => ({
    createLlamaInstance: t.field({
      type: Instance,
      description: 'Creates a stopped instance. BAD_USER_INPUT for a bad name, path or flag; CONFLICT for a name, alias or port in use.',
      args: { input: t.arg({ type: CreateInput, required: true }) },
      resolve: (_r, { input }, ctx) => api(ctx).create(compact(input as Record<string, unknown>)),
    }),
    updateLlamaInstance: t.field({
      type: Instance,
      description: 'Changes a stopped instance. A running one is CONFLICT unless restart: true (stop, update, start: llamactl’s update).',
      args: { name: t.arg.string(nameArg), input: t.arg({ type: UpdateInput, required: true }), restart: t.arg.boolean() },
      resolve: (_r, { name, input, restart }, ctx) => api(ctx).update(name, compact(input as Record<string, unknown>), { restart: restart === true }),
    }),
    deleteLlamaInstance: t.boolean({
      description: 'Deletes a stopped or failed instance (CONFLICT while it runs); false when unknown.',
      args: { name: t.arg.string(nameArg) },
      resolve: (_r, { name }, ctx) => api(ctx).delete(name),
    }),
    startLlamaInstance: t.field({
      type: Instance,
      description: 'Starts it; resolves at `starting` (watch llamaInstanceUpdated for `running`). CONFLICT when active, its port is busy or its group is full of busy instances.',
      args: { name: t.arg.string(nameArg) },
      resolve: (_r, { name }, ctx) => api(ctx).start(name),
    }),
    stopLlamaInstance: t.field({
      type: Instance,
      description: 'SIGTERM, then SIGKILL after timeout (or at once with force); resolves once stopped.',
      args: { name: t.arg.string(nameArg), timeout: t.arg.int(timeoutArg), force: t.arg.boolean(forceArg) },
      resolve: (_r, { name, timeout, force }, ctx) => api(ctx).stop(name, { timeoutSeconds: timeout ?? undefined, force: force === true }),
    }),
    restartLlamaInstance: t.field({
      type: Instance,
      description: 'Stops it if active, then starts it.',
      args: { name: t.arg.string(nameArg), timeout: t.arg.int(timeoutArg), force: t.arg.boolean(forceArg) },
      resolve: (_r, { name, timeout, force }, ctx) => api(ctx).restart(name, { timeoutSeconds: timeout ?? undefined, force: force === true }),
    }),
    startAllLlamaInstances: t.field({
      type: [Instance],
      description: 'Starts every stopped or failed instance; one that cannot start is left failed with the reason.',
      resolve: (_r, _a, ctx) => api(ctx).startAll(),
    }),
    stopAllLlamaInstances: t.field({ type: [Instance], args: { timeout: t.arg.int(timeoutArg), force: t.arg.boolean(forceArg) }, resolve: (_r, { timeout, force }, ctx) => api(ctx).stopAll({ timeoutSeconds: timeout ?? undefined, force: force === true }) }),
  }));

  builder.subscriptionField('llamaInstanceUpdated', (t) =>
    t.field({
      type: Instance,
      description: 'Status and health changes of one instance (its current state first), or of every instance when name is omitted.',
      args: { name: t.arg.string({ validate: { schema: instanceNameSchema } }) },
      subscribe: (_r, { name }, ctx) => watchInstances(ctx, api(ctx), name ?? undefined),
      resolve: (instance) => instance,
    }),
  );
}

async function* watchInstances(ctx: GraphQLContext, service: LlamaCppService, name: string | undefined): AsyncGenerator<LlamaInstanceView> {
  const updates = ctx.subscribe<LlamaInstanceView>(service.topic);
  const last = new Map<string, string>();
  const key = (v: LlamaInstanceView) => `${v.status}|${v.health.state}|${v.health.failureCount}|${v.message ?? ''}|${v.restartCount}`;
  try {
    const current = name === undefined ? undefined : service.get(name);
    if (current) {
      last.set(current.name, key(current));
      yield current;
    }
    for await (const view of updates) {
      if ((name !== undefined && view.name !== name) || last.get(view.name) === key(view)) continue;
      last.set(view.name, key(view));
      yield view;
    }
  } finally {
    await updates.return?.();
  }
}
