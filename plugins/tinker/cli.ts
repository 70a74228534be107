import type { CliCommand, CliContext, CliModule, CliStatusSection } from '../../core/plugin-api.ts';
import type {
  CliTinkerCheckpointsQuery,
  CliTinkerDeleteCheckpointMutation,
  CliTinkerMetricsSubscription,
  CliTinkerModelQuery,
  CliTinkerModelRowFragment,
  CliTinkerModelsQuery,
  CliTinkerSessionsQuery,
} from '../../schema/generated/graphql.ts';

/**
 * `backplane tinker sessions|models|checkpoints|rm-checkpoint|metrics`: the tinker plugin's
 * sessions, LoRA models, checkpoints and training loss, over the daemon's GraphQL API
 * (operations in ./cli.graphql).
 */
const operations = new URL('./cli.graphql', import.meta.url);
/** An Int flag: a number when it reads as one, else the text, for the daemon to refuse in its own words. */
const int = (v: string | undefined): number | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : (v as unknown as number));
const loss = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(4));
const firstLine = (text: unknown) => (text ? String(text).split('\n')[0].slice(0, 60) : '-');
const time = (iso: unknown) => (typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

const modelColumns = (ctx: CliContext) => [
  { key: 'id' as const, header: 'MODEL' },
  { key: 'sessionId' as const, header: 'SESSION' },
  { key: 'baseModel' as const, header: 'BASE' },
  { key: 'status' as const, format: (v: unknown) => (v === 'ready' ? ctx.output.colors.green('ready') : v === 'failed' || v === 'lost' ? ctx.output.colors.red(String(v)) : String(v)) },
  { key: 'step' as const },
  { key: 'lastLoss' as const, header: 'LAST LOSS', format: (v: unknown) => loss(v as number | null) },
  { key: 'lora' as const, header: 'RANK', format: (_v: unknown, m: CliTinkerModelRowFragment) => String(m.lora.rank) },
  { key: 'queued' as const },
  { key: 'workerId' as const, header: 'WORKER' },
  { key: 'message' as const, format: firstLine },
];

/** Streamed metrics rows for people: fixed widths, since the rows arrive one at a time. */
const metricsHeader = ['STEP'.padEnd(6), 'KIND'.padEnd(16), 'LOSS'.padStart(12), 'MEAN LOSS'.padStart(10), '  AT'].join('  ');
const metricsLine = (m: { step: number; kind: string; loss: number; meanLoss: number | null; at: string }) =>
  [String(m.step).padEnd(6), m.kind.padEnd(16), loss(m.loss).padStart(12), loss(m.meanLoss).padStart(10), `  ${time(m.at)}`].join('  ');

export function register(program: CliCommand, ctx: CliContext): void {
  const op = (name: string) => ctx.operation(operations, name);
  const tinker = program
    .command('tinker')
    .description('the Tinker-compatible training API: sessions, LoRA models, checkpoints, training loss (docs/tinker.md)')
    .addHelpText('after', '\nExamples:\n  backplane tinker models\n  backplane tinker metrics model-3f2a… --follow\n  backplane tinker checkpoints --model model-3f2a…\n');

  tinker
    .command('sessions')
    .description('client sessions (SDK ServiceClients), newest first')
    .option('--limit <n>', 'at most this many (default 20)')
    .addHelpText('after', '\nExample:\n  backplane tinker sessions --limit 5\n')
    .action(async (options: { limit?: string }) => {
      const data = await ctx.request<CliTinkerSessionsQuery>(await op('CliTinkerSessions'), { limit: int(options.limit) ?? null });
      ctx.output.table(data.tinkerSessions, [
        { key: 'id', header: 'SESSION' },
        { key: 'status', format: (v) => (v === 'active' ? ctx.output.colors.green('active') : String(v)) },
        { key: 'models', format: (_v, s) => String(s.models.length) },
        { key: 'samplers', format: (_v, s) => String(s.samplers.length) },
        { key: 'tags' },
        { key: 'sdkVersion', header: 'SDK' },
        { key: 'createdAt', header: 'CREATED', format: time },
        { key: 'lastHeartbeatAt', header: 'HEARTBEAT', format: time },
      ]);
    });

  tinker
    .command('models')
    .description('training models (training runs): status, steps, last loss, queue')
    .option('--session <id>', 'only this session’s')
    .addHelpText('after', '\nExample:\n  backplane tinker models --json\n')
    .action(async (options: { session?: string }) => {
      const data = await ctx.request<CliTinkerModelsQuery>(await op('CliTinkerModels'), { sessionId: options.session ?? null });
      ctx.output.table(data.tinkerModels, modelColumns(ctx));
    });

  tinker
    .command('checkpoints')
    .description('saved checkpoints (tinker:// paths), newest first')
    .option('--model <id>', 'only this model’s')
    .addHelpText('after', '\nExample:\n  backplane tinker checkpoints --model model-3f2a…\n')
    .action(async (options: { model?: string }) => {
      const data = await ctx.request<CliTinkerCheckpointsQuery>(await op('CliTinkerCheckpoints'), { modelId: options.model ?? null });
      ctx.output.table(data.tinkerCheckpoints, [
        { key: 'path' },
        { key: 'kind' },
        { key: 'step' },
        { key: 'bytes', header: 'SIZE', format: (v) => size(v as number) },
        { key: 'createdAt', header: 'CREATED', format: time },
        { key: 'expiresAt', header: 'EXPIRES', format: time },
      ]);
    });

  tinker
    .command('rm-checkpoint <path>')
    .description('delete a checkpoint file and its record')
    .addHelpText('after', '\nExample:\n  backplane tinker rm-checkpoint tinker://model-3f2a…/weights/step-100\n')
    .action(async (path: string) => {
      const data = await ctx.request<CliTinkerDeleteCheckpointMutation>(await op('CliTinkerDeleteCheckpoint'), { path });
      if (ctx.output.json) ctx.output.record({ path, removed: data.tinkerDeleteCheckpoint });
      else ctx.output.line(data.tinkerDeleteCheckpoint ? `removed ${path}` : `${path}: no such checkpoint`);
      if (!data.tinkerDeleteCheckpoint) ctx.setExitCode(1);
    });

  tinker
    .command('metrics <model-id>')
    .description('a model’s training loss: its step and last loss; --follow streams every optim_step (tinkerTrainingMetrics)')
    .option('-f, --follow', 'print a line per optim_step until Ctrl-C; with --jsonl one event a line')
    .option('--forward-backward', 'with --follow: forward_backward events too')
    .addHelpText('after', '\nExamples:\n  backplane tinker metrics model-3f2a…\n  backplane tinker metrics model-3f2a… --follow --jsonl\n')
    .action(async (modelId: string, options: { follow?: boolean; forwardBackward?: boolean }) => {
      const data = await ctx.request<CliTinkerModelQuery>(await op('CliTinkerModel'), { id: modelId });
      const model = data.tinkerModel;
      if (!model) throw new Error(`tinker model '${modelId}' not found`);
      if (!options.follow) {
        const row = { modelId: model.id, status: model.status, step: model.step, lastLoss: model.lastLoss, updatedAt: model.updatedAt };
        ctx.output.table([row], [{ key: 'modelId', header: 'MODEL' }, { key: 'status' }, { key: 'step' }, { key: 'lastLoss', header: 'LAST LOSS', format: (v) => loss(v as number | null) }, { key: 'updatedAt', header: 'UPDATED', format: time }]);
        return;
      }
      if (!ctx.output.json) {
        process.stderr.write(`${model.id}: step ${model.step}, last loss ${loss(model.lastLoss)}; following (Ctrl-C ends)\n`);
        process.stdout.write(`${ctx.output.colors.bold(metricsHeader)}\n`);
      }
      await ctx.subscribe<CliTinkerMetricsSubscription>(await op('CliTinkerMetrics'), { modelId, ...(options.forwardBackward ? { includeForwardBackward: true } : {}) }, (event) => {
        const m = event.tinkerTrainingMetrics;
        process.stdout.write(ctx.output.json ? `${JSON.stringify(m)}\n` : `${metricsLine(m)}\n`);
      });
    });
}

export async function status(ctx: CliContext): Promise<CliStatusSection> {
  const data = await ctx.request<CliTinkerModelsQuery>(await ctx.operation(operations, 'CliTinkerModels'), {});
  return { title: 'tinker models', rows: data.tinkerModels.filter((m) => m.status !== 'deleted'), columns: modelColumns(ctx) as never };
}

export default { register, status } satisfies CliModule;
