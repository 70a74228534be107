import type { CliCommand, CliContext, CliModule, CliStatusSection } from '../../core/plugin-api.ts';
import type {
  CliIlabCheckpointsQuery,
  CliIlabDatasetsQuery,
  CliIlabGenerateMutation,
  CliIlabModelsQuery,
  CliIlabPipelineMutation,
  CliIlabServedQuery,
  CliIlabServeBaseMutation,
  CliIlabServeLatestMutation,
  CliIlabStartedFragment,
  CliIlabTrainMutation,
} from '../../schema/generated/graphql.ts';

/**
 * `backplane ilab …`: the InstructLab plugin's client commands, over the daemon's GraphQL API
 * (operations in ./cli.graphql). Loaded by the client through the manifest's `cli` field.
 */
const operations = new URL('./cli.graphql', import.meta.url);

// Integers go to the daemon as typed when they are not digits, so its own validation answers.
/** An Int flag: a number when it reads as one, else the text, for the daemon to refuse in its own words. */
const int = (v: string | undefined): number | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : (v as unknown as number));
// Commander has checked the flags' shape (required options present); the daemon validates values.
interface TrainOptions {
  model: string;
  branch: string;
  epochs?: string;
  follow?: boolean;
}
interface GenerateOptions {
  branch?: string;
  follow?: boolean;
}
interface ServeOptions {
  checkpoint?: string;
  restart?: boolean;
}

async function started(ctx: CliContext, job: CliIlabStartedFragment, follow: boolean | undefined): Promise<void> {
  if (ctx.output.json && !follow) ctx.output.record(job);
  else ctx.output.line(`started ${job.kind} job ${ctx.output.colors.bold(job.jobId)}${job.branch ? ` on ${job.branch}` : ''}${job.mock ? ' (mock mode)' : ''}`);
  // The whole log of a job just started (it may have written lines before the follow subscribed).
  if (follow) ctx.setExitCode(await ctx.followJob(job.jobId, { tail: 100_000 }));
  else if (!ctx.output.json) ctx.output.line(`follow it with: backplane jobs logs ${job.jobId} --follow`);
}

export function register(program: CliCommand, ctx: CliContext): void {
  const ilab = program
    .command('ilab')
    .description('InstructLab: models, datasets, checkpoints, data generation, training, serving')
    .addHelpText('after', '\nExamples:\n  backplane ilab models\n  backplane ilab train --model models/granite-7b-lab --branch my-skill --epochs 3 --follow\n');
  const op = (name: string) => ctx.operation(operations, name);

  ilab
    .command('models')
    .description('models from `ilab model list` (the daemon’s cache)')
    .addHelpText('after', '\nExample:\n  backplane ilab models --json\n')
    .action(async () => {
      const data = await ctx.request<CliIlabModelsQuery>(await op('CliIlabModels'));
      ctx.output.table(data.ilabModels, [{ key: 'name' }, { key: 'size' }, { key: 'lastModified', header: 'MODIFIED' }]);
    });
  ilab
    .command('data')
    .description('generated datasets (`ilab data list`)')
    .addHelpText('after', '\nExample:\n  backplane ilab data\n')
    .action(async () => {
      const data = await ctx.request<CliIlabDatasetsQuery>(await op('CliIlabDatasets'));
      ctx.output.table(data.ilabDatasets, [{ key: 'dataset' }, { key: 'run' }, { key: 'model' }, { key: 'fileSize', header: 'SIZE' }, { key: 'createdAt', header: 'CREATED' }]);
    });
  ilab
    .command('checkpoints')
    .description('training checkpoints (checkpoints/hf_format)')
    .addHelpText('after', '\nExample:\n  backplane ilab checkpoints\n')
    .action(async () => {
      const data = await ctx.request<CliIlabCheckpointsQuery>(await op('CliIlabCheckpoints'));
      ctx.output.table(data.ilabCheckpoints, [{ key: 'name' }, { key: 'samples' }, { key: 'modifiedAt', header: 'MODIFIED' }]);
    });
  ilab
    .command('generate')
    .description('`ilab data generate` as a g- job')
    .option('--branch <name>', 'generate on a private worktree of this taxonomy branch')
    .option('-f, --follow', 'follow the job until it ends (exit 0 succeeded, 1 failed)')
    .addHelpText('after', '\nExample:\n  backplane ilab generate --branch my-skill --follow\n')
    .action(async (options: GenerateOptions) => {
      const data = await ctx.request<CliIlabGenerateMutation>(await op('CliIlabGenerate'), { branchName: options.branch ?? null });
      await started(ctx, data.startIlabDataGenerate, options.follow);
    });
  ilab
    .command('train')
    .description('`ilab model train` as a t- job; --follow shows a progress bar with epoch and ETA')
    .requiredOption('--model <name>', 'model name as `backplane ilab models` lists it')
    .requiredOption('--branch <name>', 'taxonomy branch to train on')
    .option('--epochs <n>', 'training epochs (the plugin’s default when omitted)')
    .option('-f, --follow', 'follow the job until it ends (exit 0 succeeded, 1 failed); Ctrl-C stops following, not the job')
    .addHelpText('after', '\nExample:\n  backplane ilab train --model models/granite-7b-lab --branch my-skill --epochs 3 --follow\n')
    .action(async (options: TrainOptions) => {
      const data = await ctx.request<CliIlabTrainMutation>(await op('CliIlabTrain'), { modelName: options.model, branchName: options.branch, epochs: int(options.epochs) ?? null });
      await started(ctx, data.startIlabTrain, options.follow);
    });
  ilab
    .command('pipeline')
    .description('generate then train, as a p- job with g- and t- steps')
    .requiredOption('--model <name>', 'model name as `backplane ilab models` lists it')
    .requiredOption('--branch <name>', 'taxonomy branch')
    .option('--epochs <n>', 'training epochs')
    .option('-f, --follow', 'follow the pipeline until it ends')
    .addHelpText('after', '\nExample:\n  backplane ilab pipeline --model models/granite-7b-lab --branch my-skill --follow\n')
    .action(async (options: TrainOptions) => {
      const data = await ctx.request<CliIlabPipelineMutation>(await op('CliIlabPipeline'), { modelName: options.model, branchName: options.branch, epochs: int(options.epochs) ?? null });
      await started(ctx, data.startIlabPipeline, options.follow);
    });
  const serve = ilab.command('serve').description('serve the base model (pre-train) or a checkpoint (post-train)').addHelpText('after', '\nExamples:\n  backplane ilab serve base\n  backplane ilab serve latest --checkpoint samples_128\n');
  const printServe = (result: CliIlabServeBaseMutation['serveIlabBase']) => {
    if (ctx.output.json) ctx.output.record(result);
    else ctx.output.line(`${result.servedModelName}: ${result.status} (${result.backend}, port ${result.port}, job ${result.jobId})`);
  };
  serve
    .command('base')
    .description('serve the base model as `pre-train`')
    .option('--restart', 'replace a local server already serving it')
    .addHelpText('after', '\nExample:\n  backplane ilab serve base --restart\n')
    .action(async (options: ServeOptions) => {
      const data = await ctx.request<CliIlabServeBaseMutation>(await op('CliIlabServeBase'), { restart: options.restart ?? null });
      printServe(data.serveIlabBase);
    });
  serve
    .command('latest')
    .description('serve the latest checkpoint (or --checkpoint) as `post-train`')
    .option('--checkpoint <name>', 'a checkpoint of `backplane ilab checkpoints`')
    .option('--restart', 'replace a local server already serving it')
    .addHelpText('after', '\nExample:\n  backplane ilab serve latest\n')
    .action(async (options: ServeOptions) => {
      const data = await ctx.request<CliIlabServeLatestMutation>(await op('CliIlabServeLatest'), { checkpoint: options.checkpoint ?? null, restart: options.restart ?? null });
      printServe(data.serveIlabLatest);
    });
}

/** The served models for `backplane status`. */
export async function status(ctx: CliContext): Promise<CliStatusSection> {
  const data = await ctx.request<CliIlabServedQuery>(await ctx.operation(operations, 'CliIlabServed'));
  return { title: 'ilab served models', rows: data.ilabServedModels, columns: [{ key: 'name' }, { key: 'status' }, { key: 'backend' }, { key: 'port' }, { key: 'jobId', header: 'JOB' }] };
}

export default { register, status } satisfies CliModule;
