import { BackendError, InputError, NotAllowedError, NotFoundError, type JobRecord } from '../../core/plugin-api.ts';
import type { IlabContext } from './context.ts';
import { confinePath } from './paths.ts';
import { convertProgress } from './progress.ts';

export const convertDisabledMessage = 'Model conversion is disabled: `ilab model convert` (MLX) runs on macOS only; set plugins.ilab.convert.enabled to allow it';

/** Starts `ilab model convert --model-dir=<dir>` as a `c-` job; the directory must be a model or checkpoint. */
export async function startConvert(ctx: IlabContext, { modelDir }: { modelDir: string }): Promise<JobRecord> {
  if (!ctx.config.convert.enabled) throw new NotAllowedError(convertDisabledMessage);
  const dir = await confinePath(modelDir, [ctx.paths.models, ctx.paths.checkpoints], {
    outside: () => new InputError(`Invalid model_dir '${modelDir}': it must be inside ${ctx.paths.models} or ${ctx.paths.checkpoints}`),
    missing: () => new NotFoundError(`Model directory does not exist: ${modelDir}`),
  });
  const args = ['model', 'convert', `--model-dir=${dir}`];
  const call = await ctx.cli.invocation(args);
  try {
    return await ctx.jobs.start({
      idPrefix: 'c',
      kind: 'convert',
      command: call.command,
      args: call.args,
      cwd: call.cwd,
      env: call.env,
      labels: { ...ctx.baseLabels, model_dir: dir },
      logHeader: `[ILAB CONVERT COMMAND] ${call.display} [${args.join(' ')}]\n`,
      progress: convertProgress,
    });
  } catch (error) {
    throw new BackendError(`Failed to start convert job: ${(error as Error).message}`, { cause: error });
  }
}
