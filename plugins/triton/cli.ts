import type { CliColumn, CliCommand, CliContext, CliModule, CliOutput, CliStatusSection } from '../../core/plugin-api.ts';
import type {
  CliTritonFleetQuery,
  CliTritonHealthSubscription,
  CliTritonLoadEverywhereMutation,
  CliTritonLoadMutation,
  CliTritonModelRowFragment,
  CliTritonRegisterMutation,
  CliTritonRemoveMutation,
  CliTritonServerMetadataQuery,
  CliTritonServerMetricsQuery,
  CliTritonServerQuery,
  CliTritonServerRowFragment,
  CliTritonServersQuery,
  CliTritonStatusQuery,
  CliTritonUnloadMutation,
  CliTritonVersionFragment,
  CliTritonVersionsQuery,
} from '../../schema/generated/graphql.ts';

/**
 * `backplane triton ls|add|rm|show|models|load|unload|versions`: the Triton plugin's fleet of
 * servers and their models, over the daemon's GraphQL API (operations in ./cli.graphql).
 */
const operations = new URL('./cli.graphql', import.meta.url);
/** An Int flag: a number when it reads as one, else the text, for the daemon to refuse in its own words. */
const int = (v: string | undefined): number | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : (v as unknown as number));
// The daemon's own wording for an unknown id (tritonServer(id) answers null rather than NOT_FOUND).
const notRegistered = (id: string) => new Error(`Triton server '${id}' is not registered`);

/** A server row of `triton ls`: the API's object plus the names of its READY models. */
type ServerRow = CliTritonServerRowFragment & { readyModels: string[] };

const stateColor = (state: string, colors: CliOutput['colors']) => (state === 'READY' ? colors.green(state) : state === 'DOWN' || state === 'UNAVAILABLE' ? colors.red(state) : colors.yellow(state));
const latency = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);
const firstLine = (text: unknown) => (text ? String(text).split('\n')[0].slice(0, 80) : '-');
const bytes = (n: number | null) => (n === null ? '?' : `${(n / 2 ** 30).toFixed(1)}`);

const serverColumns = (ctx: CliContext) => [
  { key: 'id' as const, header: 'NAME' },
  { key: 'host' as const, header: 'ADDRESS', format: (_v: unknown, s: CliTritonServerRowFragment) => `${s.host}:${s.httpPort}` },
  { key: 'health' as const, header: 'STATE', format: (_v: unknown, s: CliTritonServerRowFragment) => stateColor(s.health.state, ctx.output.colors) },
  { key: 'health' as const, header: 'LATENCY', format: (_v: unknown, s: CliTritonServerRowFragment) => latency(s.health.latencyMs) },
  { key: 'cachedModels' as const, header: 'READY', format: (_v: unknown, s: ServerRow | CliTritonServerRowFragment) => ('readyModels' in s ? `${s.readyModels.length}/${s.cachedModels.length}` : '-') },
  { key: 'gpus' as const },
  { key: 'health' as const, header: 'MESSAGE', format: (_v: unknown, s: CliTritonServerRowFragment) => firstLine(s.health.lastError) },
];

/** `1 READY, 2 UNAVAILABLE (unloaded)`; `never loaded` for a name-only index entry. */
function describeVersions(versions: readonly CliTritonVersionFragment[], colors: CliOutput['colors']): string {
  if (versions.length === 0 || versions.every((v) => v.version === null && v.state === null)) return 'never loaded';
  return versions
    .map((v) => {
      const state = v.state ? stateColor(v.state, colors) : '-';
      const reason = v.state !== 'READY' && v.reason ? ` (${firstLine(v.reason)})` : '';
      return `${v.version === null ? '' : `${v.version} `}${state}${reason}`;
    })
    .join(', ');
}

/** `triton load|unload`: the model's index entries on the server after the call. */
function printModel(ctx: CliContext, model: CliTritonModelRowFragment): void {
  if (ctx.output.json) {
    ctx.output.record({ ...model });
    return;
  }
  ctx.output.table([model], [
    { key: 'name', header: 'MODEL' },
    { key: 'serverId', header: 'SERVER' },
    { key: 'ready', format: (v) => (v ? ctx.output.colors.green('yes') : 'no') },
    { key: 'versions', format: (_v, m) => describeVersions(m.versions, ctx.output.colors) },
  ]);
}

export function register(program: CliCommand, ctx: CliContext): void {
  const op = (name: string) => ctx.operation(operations, name);
  const listServers = async (): Promise<ServerRow[]> => {
    const data = await ctx.request<CliTritonServersQuery>(await op('CliTritonServers'));
    return data.tritonServers.map((s) => ({ ...s, readyModels: data.tritonFleet.models.filter((m) => m.readyOn.includes(s.id)).map((m) => m.name) }));
  };

  const triton = program
    .command('triton')
    .description('NVIDIA Triton Inference Servers and their models (docs/triton.md)')
    .addHelpText('after', '\nExamples:\n  backplane triton ls\n  backplane triton add t1 --host 127.0.0.1 --port 8000 --metrics-port 8002\n  backplane triton load densenet_onnx --everywhere\n');

  triton
    .command('ls')
    .alias('list')
    .description('every registered server: its state, probe latency and READY models (ready/indexed)')
    .option('-w, --watch', 'redraw on every health change (tritonServerHealthChanged; Ctrl-C ends); with --jsonl one server a line')
    .addHelpText('after', '\nExamples:\n  backplane triton ls\n  backplane triton ls --watch\n  backplane triton ls --json\n')
    .action(async (options: { watch?: boolean }) => {
      const rows = await listServers();
      if (!options.watch) {
        ctx.output.table(rows, serverColumns(ctx));
        return;
      }
      await watchServers(ctx, rows, listServers, await op('CliTritonHealth'));
    });

  triton
    .command('add <name>')
    .description('register a server under this name and probe it once')
    .requiredOption('--host <host>', 'IP address or host name')
    .requiredOption('--port <port>', 'its HTTP port (Triton: 8000)')
    .option('--metrics-port <port>', 'its Prometheus metrics port (Triton: 8002)')
    .option('--repository <path>', 'its model repository on this host, inside plugins.triton.repositoryRoots (for uploads)')
    .option('--gpus <n>', 'GPUs it runs on (informational)')
    .addHelpText('after', '\nExample:\n  backplane triton add t1 --host 127.0.0.1 --port 8000 --metrics-port 8002 --repository /srv/triton/models --gpus 1\n')
    .action(async (name: string, options: { host: string; port: string; metricsPort?: string; repository?: string; gpus?: string }) => {
      const input = { id: name, host: options.host, httpPort: int(options.port), metricsPort: int(options.metricsPort) ?? null, gpus: int(options.gpus) ?? null, repositoryPath: options.repository ?? null };
      const data = await ctx.request<CliTritonRegisterMutation>(await op('CliTritonRegister'), { input });
      if (ctx.output.json) ctx.output.record({ ...data.registerTritonServer });
      else ctx.output.table([(await listServers().catch(() => [])).find((s) => s.id === data.registerTritonServer.id) ?? data.registerTritonServer], serverColumns(ctx));
    });

  triton
    .command('rm <name>')
    .alias('remove')
    .description('forget a server (its models stay on it)')
    .addHelpText('after', '\nExample:\n  backplane triton rm t2\n')
    .action(async (name: string) => {
      const data = await ctx.request<CliTritonRemoveMutation>(await op('CliTritonRemove'), { id: name });
      if (ctx.output.json) ctx.output.record({ id: name, removed: data.removeTritonServer });
      else ctx.output.line(data.removeTritonServer ? `removed ${name}` : `${name}: no such server`);
      if (!data.removeTritonServer) ctx.setExitCode(1);
    });

  triton
    .command('show <name>')
    .description('one server: its record, Triton’s metadata (GET /v2) and its metrics (GPUs, inference counts)')
    .addHelpText('after', '\nExample:\n  backplane triton show t1\n')
    .action(async (name: string) => {
      const [server, metadata, metrics] = await Promise.all([
        ctx.request<CliTritonServerQuery>(await op('CliTritonServer'), { id: name }),
        // A server that does not answer still shows its record: these two report their error instead.
        ctx.request<CliTritonServerMetadataQuery>(await op('CliTritonServerMetadata'), { id: name }).then(
          (d) => ({ value: d.tritonServer?.metadata ?? null }),
          (e: Error) => ({ error: e.message }),
        ),
        ctx.request<CliTritonServerMetricsQuery>(await op('CliTritonServerMetrics'), { id: name }).then(
          (d) => ({ value: d.tritonServer?.metrics ?? null }),
          (e: Error) => ({ error: e.message }),
        ),
      ]);
      const s = server.tritonServer;
      if (!s) throw notRegistered(name);
      if (ctx.output.json) {
        ctx.output.record({
          ...s,
          metadata: 'value' in metadata ? metadata.value : null,
          metrics: 'value' in metrics ? metrics.value : null,
          ...('error' in metadata ? { metadataError: metadata.error } : {}),
          ...('error' in metrics ? { metricsError: metrics.error } : {}),
        });
        return;
      }
      const { colors } = ctx.output;
      ctx.output.record({
        name: s.id,
        address: `${s.host}:${s.httpPort}`,
        baseUrl: s.baseUrl,
        metricsPort: s.metricsPort,
        gpus: s.gpus,
        repository: s.repositoryPath,
        state: stateColor(s.health.state, colors),
        latency: latency(s.health.latencyMs),
        lastError: s.health.lastError,
        checked: s.health.checkedAt,
        triton: 'value' in metadata ? (metadata.value ? `${metadata.value.name} ${metadata.value.version}` : null) : colors.yellow(metadata.error),
        extensions: 'value' in metadata ? metadata.value?.extensions : null,
        models: s.cachedModels,
        created: s.createdAt,
      });
      if ('error' in metrics) {
        ctx.output.line(`\n${colors.bold('Metrics')}\n${colors.yellow(metrics.error)}`);
        return;
      }
      if (!metrics.value) {
        ctx.output.line(`\n${colors.bold('Metrics')}\n${colors.dim('(no --metrics-port)')}`);
        return;
      }
      ctx.output.line(`\n${colors.bold('GPUs')} (scraped ${metrics.value.scrapedAt})`);
      ctx.output.table(metrics.value.gpus, [
        { key: 'uuid', header: 'GPU' },
        { key: 'utilization', header: 'UTIL', format: (v) => (v === null ? '-' : `${Math.round((v as number) * 100)}%`) },
        { key: 'memoryUsedBytes', header: 'MEMORY (GiB)', format: (_v, g) => `${bytes(g.memoryUsedBytes)} / ${bytes(g.memoryTotalBytes)}` },
        { key: 'powerWatts', header: 'POWER', format: (v) => (v === null ? '-' : `${Math.round(v as number)} W`) },
      ]);
      ctx.output.line(`\n${colors.bold('Inference')}`);
      ctx.output.table(metrics.value.models, [
        { key: 'model' },
        { key: 'version' },
        { key: 'inferenceCount', header: 'INFERENCES' },
        { key: 'requestSuccess', header: 'SUCCESS' },
        { key: 'requestFailure', header: 'FAILURE' },
        { key: 'executionCount', header: 'EXECUTIONS' },
      ]);
    });

  triton
    .command('models')
    .description('the fleet view: every model, the servers whose repository has it and its versions’ states there')
    .option('--server <name>', 'only this server')
    .addHelpText('after', '\nExamples:\n  backplane triton models\n  backplane triton models --server t1 --json\n')
    .action(async (options: { server?: string }) => {
      const data = await ctx.request<CliTritonFleetQuery>(await op('CliTritonFleet'));
      let { models, errors } = data.tritonFleet;
      if (options.server !== undefined) {
        const id = options.server;
        if (!data.tritonServers.some((s) => s.id === id)) throw notRegistered(id);
        const failed = errors.find((e) => e.serverId === id);
        if (failed) throw new Error(failed.message);
        errors = [];
        models = models.map((m) => ({ ...m, placements: m.placements.filter((p) => p.serverId === id) })).filter((m) => m.placements.length > 0);
      }
      if (ctx.output.json) {
        if (ctx.output.jsonl) for (const m of models) process.stdout.write(`${JSON.stringify(m)}\n`);
        else ctx.output.record({ models, errors });
        return;
      }
      const { colors } = ctx.output;
      const rows = models.flatMap((m) => m.placements.map((p, i) => ({ model: i === 0 ? m.name : '', server: p.serverId, ready: p.ready, versions: p.versions })));
      ctx.output.table(rows, [
        { key: 'model', format: (v) => String(v) },
        { key: 'server' },
        { key: 'ready', format: (v) => (v ? colors.green('yes') : 'no') },
        { key: 'versions', format: (_v, r) => describeVersions(r.versions, colors) },
      ]);
      for (const e of errors) ctx.output.line(colors.yellow(`${e.serverId}: ${e.message}`));
    });

  triton
    .command('load <model>')
    .description('load (or reload) a model on one server, or on every server whose repository has it')
    .option('--server <name>', 'the server')
    .option('--everywhere', 'every server whose repository has it, concurrently (exit 1 if one fails)')
    .addHelpText('after', '\nExamples:\n  backplane triton load densenet_onnx --server t1\n  backplane triton load densenet_onnx --everywhere\n')
    .action(async (model: string, options: { server?: string; everywhere?: boolean }, command: { error(message: string, options?: { exitCode?: number }): never }) => {
      if ((options.server === undefined) === !options.everywhere) command.error('error: give one of --server <name> or --everywhere', { exitCode: 2 });
      if (options.server !== undefined) {
        const data = await ctx.request<CliTritonLoadMutation>(await op('CliTritonLoad'), { serverId: options.server, name: model });
        printModel(ctx, data.loadTritonModel);
        return;
      }
      const data = await ctx.request<CliTritonLoadEverywhereMutation>(await op('CliTritonLoadEverywhere'), { name: model });
      const outcomes = data.loadTritonModelEverywhere;
      const { colors } = ctx.output;
      ctx.output.table(outcomes, [
        { key: 'serverId', header: 'SERVER' },
        { key: 'ok', header: 'LOADED', format: (v) => (v ? colors.green('yes') : colors.red('no')) },
        { key: 'error', format: firstLine },
      ]);
      if (outcomes.length === 0 || outcomes.some((o) => !o.ok)) ctx.setExitCode(1);
    });

  triton
    .command('unload <model>')
    .description('unload a model from one server')
    .requiredOption('--server <name>', 'the server')
    .option('--dependents', 'also unload the models that depend on it (ensembles)')
    .addHelpText('after', '\nExample:\n  backplane triton unload densenet_onnx --server t1 --dependents\n')
    .action(async (model: string, options: { server: string; dependents?: boolean }) => {
      const data = await ctx.request<CliTritonUnloadMutation>(await op('CliTritonUnload'), { serverId: options.server, name: model, unloadDependents: options.dependents ?? null });
      printModel(ctx, data.unloadTritonModel);
    });

  triton
    .command('versions <model>')
    .description('a model’s versions on one server: state, and statistics of the READY ones')
    .requiredOption('--server <name>', 'the server')
    .addHelpText('after', '\nExample:\n  backplane triton versions densenet_onnx --server t1\n')
    .action(async (model: string, options: { server: string }) => {
      const data = await ctx.request<CliTritonVersionsQuery>(await op('CliTritonVersions'), { serverId: options.server, name: model });
      const m = data.tritonModel;
      if (ctx.output.json && !ctx.output.jsonl) {
        ctx.output.record({ ...m });
        return;
      }
      const rows = m.versions.map((v) => {
        const stats = m.stats.find((s) => s.version === v.version);
        return { version: v.version, state: v.state, reason: v.reason, inferenceCount: stats?.inferenceCount ?? null, executionCount: stats?.executionCount ?? null, lastInference: stats?.lastInference ?? null };
      });
      const { colors } = ctx.output;
      ctx.output.table(rows, [
        { key: 'version' },
        { key: 'state', format: (v) => (v ? stateColor(String(v), colors) : '-') },
        { key: 'reason', format: firstLine },
        { key: 'inferenceCount', header: 'INFERENCES' },
        { key: 'executionCount', header: 'EXECUTIONS' },
        { key: 'lastInference', header: 'LAST INFERENCE' },
      ]);
    });
}

/**
 * `triton ls --watch`: the table, then again on every `tritonServerHealthChanged` event (asked
 * afresh, so the READY counts follow too); with `--json`/`--jsonl` the rows, then each changed
 * server, one a line.
 */
async function watchServers(ctx: CliContext, first: ServerRow[], list: () => Promise<ServerRow[]>, subscription: string): Promise<void> {
  const { colors } = ctx.output;
  const live = Boolean(process.stdout.isTTY) && !ctx.output.json;
  const draw = (rows: ServerRow[]) => {
    if (ctx.output.json) {
      for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
      return;
    }
    // Clear the screen and home the cursor, as `watch` does, then the table.
    if (live) process.stdout.write('\x1b[H\x1b[2J');
    ctx.output.line(`${colors.bold('Triton servers')} at ${new Date().toLocaleTimeString()} (Ctrl-C ends)`);
    ctx.output.table(rows, serverColumns(ctx));
  };
  draw(first);
  // Redraws are chained so that tables never interleave; events that arrive meanwhile are folded into one.
  let pending: Promise<void> = Promise.resolve();
  let queued = false;
  await ctx.subscribe<CliTritonHealthSubscription>(subscription, undefined, (data) => {
    if (ctx.output.json) {
      const s = data.tritonServerHealthChanged;
      pending = pending.then(async () => {
        const fresh = (await list().catch(() => [])).find((r) => r.id === s.id);
        process.stdout.write(`${JSON.stringify(fresh ?? { ...s, readyModels: [] })}\n`);
      });
      return;
    }
    if (queued) return;
    queued = true;
    pending = pending.then(async () => {
      queued = false;
      draw(await list());
    }).catch((error: Error) => ctx.output.line(colors.yellow(error.message)));
  });
}

export async function status(ctx: CliContext): Promise<CliStatusSection> {
  const data = await ctx.request<CliTritonStatusQuery>(await ctx.operation(operations, 'CliTritonStatus'));
  const columns: CliColumn<CliTritonStatusQuery['tritonServers'][number]>[] = [
    { key: 'id', header: 'NAME' },
    { key: 'host', header: 'ADDRESS', format: (_v, s) => `${s.host}:${s.httpPort}` },
    { key: 'health', header: 'STATE', format: (_v, s) => stateColor(s.health.state, ctx.output.colors) },
    { key: 'health', header: 'LATENCY', format: (_v, s) => latency(s.health.latencyMs) },
    { key: 'cachedModels', header: 'MODELS', format: (_v, s) => String(s.cachedModels.length) },
    { key: 'gpus' },
  ];
  return { title: 'Triton servers', rows: data.tritonServers, columns: columns as never };
}

export default { register, status } satisfies CliModule;
