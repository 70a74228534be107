import { BackendError, type JobRecord } from '../../core/plugin-api.ts';
import type { IlabConfig } from './config.ts';
import { gpuRequest, type IlabContext } from './context.ts';
import { findNewestTrainingData } from './datasets.ts';
import { reclaimIdleServers } from './gpu-reclaim.ts';
import { resolveModelPath } from './model-names.ts';
import { trainProgress } from './progress.ts';

export interface TrainInput {
  modelName: string;
  branchName: string;
  epochs?: number | null;
  parentId?: string;
  /** The commit the branch was resolved to earlier (a pipeline); resolved now otherwise. */
  commit?: string;
  /** Train on data written after this instant (a pipeline's own generation step). */
  dataSince?: Date;
}

/** The legacy `model/` spelling becomes `models/`, as the legacy server rewrote it. */
export function sanitizeModelName(name: string): string {
  return name.startsWith('model/') ? `models/${name.slice('model/'.length)}` : name;
}

/** The `ilab model train` arguments for the configured pipeline and profile. */
export function buildTrainArgs(config: IlabConfig, { modelPath, dataPath, epochs, gpus = config.train.gpus }: { modelPath: string; dataPath: string | undefined; epochs: number | null | undefined; gpus?: number }): string[] {
  const devices = config.devices.map((d) => `--device=${d}`);
  const epochArgs = epochs ? [`--num-epochs=${epochs}`] : [];
  if (config.train.profile === 'rhelai') {
    return [
      'model', 'train',
      `--data-path=${dataPath}`,
      `--max-batch-len=${config.train.maxBatchLen}`,
      `--gpus=${gpus}`,
      ...(devices.length > 0 ? devices : ['--device=cuda']),
      `--save-samples=${config.train.saveSamples}`,
      `--model-path=${modelPath}`,
      '--pipeline', config.pipeline,
      ...epochArgs,
    ];
  }
  if (config.pipeline === 'simple') {
    return ['model', 'train', '--pipeline', 'simple', '--optimize-memory', `--gguf-model-path=${modelPath}`, ...devices, ...epochArgs];
  }
  return ['model', 'train', '--pipeline', config.pipeline, `--model-path=${modelPath}`, ...(dataPath ? [`--data-path=${dataPath}`] : []), ...devices, ...epochArgs];
}

/** Checks a train request before anything starts: the branch (format, then existence) and the model. */
export async function checkTrainInput(ctx: IlabContext, input: Pick<TrainInput, 'modelName' | 'branchName' | 'commit'>): Promise<{ modelPath: string; commit: string }> {
  await ctx.taxonomy.validateBranch(input.branchName);
  const modelPath = await resolveModelPath(sanitizeModelName(input.modelName), { roots: [ctx.paths.models, ctx.paths.checkpoints], cached: await ctx.models.listed() });
  const commit = input.commit ?? (await ctx.taxonomy.resolveBranch(input.branchName));
  return { modelPath, commit };
}

/** `--data-path`: the newest generated training data (required by the rhelai profile). */
async function findTrainData(ctx: IlabContext, since: Date | undefined): Promise<string | undefined> {
  if (ctx.config.train.profile !== 'rhelai' && ctx.config.pipeline === 'simple') return undefined;
  const dataPath = await findNewestTrainingData(ctx.paths.datasets, { since });
  if (!dataPath && ctx.config.train.profile === 'rhelai') {
    throw new BackendError(`Failed to start train job: no knowledge_train_msgs_*.jsonl dataset in ${ctx.paths.datasets}; generate data first`);
  }
  return dataPath;
}

/** Starts `ilab model train` as a `t-` job. */
export async function startTrain(ctx: IlabContext, input: TrainInput): Promise<JobRecord> {
  const { modelPath, commit } = await checkTrainInput(ctx, input);
  const dataPath = await findTrainData(ctx, input.dataSince);
  const gpus = gpuRequest(ctx, ctx.config.train.gpus);
  if (gpus) await reclaimIdleServers(ctx, ctx.gpuActivity, gpus.count, `a training job (model ${input.modelName})`);
  const args = buildTrainArgs(ctx.config, { modelPath, dataPath, epochs: input.epochs, gpus: gpus?.count });
  const call = await ctx.cli.invocation(args);
  const labels: Record<string, string> = { ...ctx.baseLabels, branch: input.branchName, commit, model: input.modelName };
  if (input.epochs) labels.epochs = String(input.epochs);
  try {
    return await ctx.jobs.start({
      idPrefix: 't',
      kind: 'train',
      command: call.command,
      args: call.args,
      cwd: call.cwd,
      env: call.env,
      labels,
      parentId: input.parentId,
      // Go's `%v` of a string slice: the arguments space-joined inside brackets.
      logHeader: `[ILAB TRAIN COMMAND] ${call.display} [${args.join(' ')}]\n`,
      gpus,
      progress: trainProgress,
    });
  } catch (error) {
    throw new BackendError(`Failed to start train job: ${(error as Error).message}`, { cause: error });
  }
}
