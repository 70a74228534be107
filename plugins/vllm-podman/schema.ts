import type { Builder, GraphQLContext, SchemaHelpers } from '../../core/plugin-api.ts';
import type { ReconcileReport } from './reconcile.ts';
import type { VllmService } from './service.ts';
import { vllmServerStatuses, type VllmContainer, type VllmServer } from './types.ts';
import { servedNameSchema } from './validation.ts';

/**
 * The plugin's GraphQL: `VllmServer` with `vllmServers`, `vllmServer`, `vllmContainers`,
 * `startVllmServer`, `stopVllmServer`, `restartVllmServer`, `removeVllmServer`,
 * `reconcileVllmServers` and the `vllmServerStatusChanged` subscription. Pure: no I/O here.
 */
export function addVllmSchema(builder: Builder, { api }: SchemaHelpers<VllmService>): void {
  const StatusEnum = builder.enumType('VllmServerStatus', {
    description: 'starting → loading → running; stopped on request; failed with a reason in `message`.',
    values: vllmServerStatuses,
  });

  const Label = builder.objectRef<[string, string]>('VllmServerLabel').implement({
    fields: (t) => ({ key: t.string({ resolve: ([key]) => key }), value: t.string({ resolve: ([, value]) => value }) }),
  });

  const Server = builder.objectRef<VllmServer>('VllmServer').implement({
    description: 'A vLLM OpenAI-compatible server in a podman container, one per served model name.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'The served model name (`--served-model-name`).' }),
      status: t.field({ type: StatusEnum, resolve: (s) => s.status }),
      message: t.exposeString('message', { nullable: true, description: 'Why it failed (with the tail of its log), or what it waits for.' }),
      modelPath: t.exposeString('modelPath', { description: 'Real path of the model on the host, mounted read-only.' }),
      port: t.exposeInt('port'),
      host: t.exposeString('host', { description: 'Address vLLM listens on.' }),
      url: t.string({ description: 'Base URL of its OpenAI API.', resolve: (s) => `http://${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}/v1` }),
      image: t.exposeString('image'),
      args: t.exposeStringList('args', { description: 'Extra vLLM arguments.' }),
      gpus: t.exposeIntList('gpus', { description: 'GPU indices leased to the current run.' }),
      jobId: t.exposeString('jobId', { nullable: true, description: 'The run’s `v-…` job: its log is the container output (`jobLog`, `/jobs/{id}/logs`).' }),
      containerName: t.exposeString('containerName'),
      containerId: t.exposeString('containerId', { nullable: true }),
      exitCode: t.exposeInt('exitCode', { nullable: true }),
      labels: t.field({ type: [Label], resolve: (s) => Object.entries(s.labels) }),
      createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
      startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.startedAt }),
      readyAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.readyAt }),
      stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.stoppedAt }),
    }),
  });

  const Container = builder.objectRef<VllmContainer>('VllmContainer').implement({
    description: 'A running backplane vLLM container, in `podman ps` columns (the legacy `/vllm-containers` item).',
    fields: (t) => ({
      containerId: t.exposeString('containerId'),
      image: t.exposeString('image'),
      command: t.exposeString('command'),
      createdAt: t.exposeString('createdAt'),
      status: t.exposeString('status'),
      ports: t.exposeString('ports'),
      names: t.exposeString('names'),
      servedModelName: t.exposeString('servedModelName'),
      modelPath: t.exposeString('modelPath'),
    }),
  });

  const Report = builder.objectRef<ReconcileReport>('VllmReconcileReport').implement({
    fields: (t) => ({
      containers: t.exposeInt('containers'),
      adopted: t.exposeInt('adopted'),
      settled: t.exposeInt('settled'),
      removed: t.exposeInt('removed'),
      leasesReleased: t.exposeInt('leasesReleased'),
    }),
  });

  const LabelInput = builder.inputType('VllmServerLabelInput', {
    fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
  });

  const StartInput = builder.inputType('StartVllmServerInput', {
    fields: (t) => ({
      name: t.string({ required: true, description: 'Served model name: letters, digits, ".", "_", "-".' }),
      modelPath: t.string({ required: true, description: 'Absolute path inside one of the configured model roots.' }),
      port: t.int({ required: true, description: '1024–65535; must be free on the host.' }),
      gpuCount: t.int({ description: 'Lease this many free GPUs (default 1). Ignored with gpuIndices.' }),
      gpuIndices: t.intList({ description: 'Lease exactly these GPUs.' }),
      args: t.stringList({ description: 'Extra vLLM arguments from the allow-list, e.g. ["--max-model-len", "4096"].' }),
      labels: t.field({ type: [LabelInput] }),
    }),
  });

  builder.queryFields((t) => ({
    vllmServers: t.field({ type: [Server], description: 'Every vLLM server backplane tracks, by name.', resolve: (_r, _a, ctx) => api(ctx).list() }),
    vllmServer: t.field({ type: Server, nullable: true, args: { name: t.arg.string({ required: true, validate: { schema: servedNameSchema } }) }, resolve: (_r, { name }, ctx) => api(ctx).get(name) ?? null }),
    vllmContainers: t.field({ type: [Container], description: 'Running vLLM containers of this backplane, as podman lists them.', resolve: (_r, _a, ctx) => api(ctx).containers() }),
  }));

  builder.mutationFields((t) => ({
    startVllmServer: t.field({
      type: Server,
      description: 'Starts a server; resolves once its container runs (`loading`). CONFLICT when the name is active or the port busy.',
      args: { input: t.arg({ type: StartInput, required: true }) },
      resolve: (_r, { input }, ctx) =>
        api(ctx).start({
          name: input.name,
          modelPath: input.modelPath,
          port: input.port,
          gpus: input.gpuIndices ? { indices: input.gpuIndices } : input.gpuCount != null ? { count: input.gpuCount } : undefined,
          args: input.args ?? undefined,
          labels: input.labels ? Object.fromEntries(input.labels.map((l) => [l.key, l.value])) : undefined,
        }),
    }),
    stopVllmServer: t.field({
      type: Server,
      nullable: true,
      description: 'Stops and removes the container; null when nothing was starting, loading or running under that name.',
      args: { name: t.arg.string({ required: true, validate: { schema: servedNameSchema } }) },
      resolve: async (_r, { name }, ctx) => (await api(ctx).stop(name)) ?? null,
    }),
    restartVllmServer: t.field({ type: Server, description: 'Stops the server if active, then starts it with the same settings.', args: { name: t.arg.string({ required: true, validate: { schema: servedNameSchema } }) }, resolve: (_r, { name }, ctx) => api(ctx).restart(name) }),
    removeVllmServer: t.boolean({ description: 'Stops the server if active and forgets it; false when unknown.', args: { name: t.arg.string({ required: true, validate: { schema: servedNameSchema } }) }, resolve: (_r, { name }, ctx) => api(ctx).remove(name) }),
    reconcileVllmServers: t.field({ type: Report, description: 'Compares containers with tracked servers now (also runs on a schedule).', resolve: (_r, _a, ctx) => api(ctx).reconcile() }),
  }));

  builder.subscriptionField('vllmServerStatusChanged', (t) =>
    t.field({
      type: Server,
      description: 'Status changes of one server (its current state first), or of every server when name is omitted.',
      args: { name: t.arg.string({ validate: { schema: servedNameSchema } }) },
      subscribe: (_r, { name }, ctx) => watchStatus(ctx, api(ctx), name ?? undefined),
      resolve: (server) => server,
    }),
  );
}

async function* watchStatus(ctx: GraphQLContext, service: VllmService, name: string | undefined): AsyncGenerator<VllmServer> {
  const updates = ctx.subscribe<VllmServer>(service.topic);
  const last = new Map<string, string>();
  try {
    const current = name === undefined ? undefined : service.get(name);
    if (current) {
      last.set(current.name, current.status);
      yield current;
    }
    for await (const server of updates) {
      if ((name !== undefined && server.name !== name) || last.get(server.name) === server.status) continue;
      last.set(server.name, server.status);
      yield server;
    }
  } finally {
    await updates.return?.();
  }
}
