import type { JobRecord } from '../../core/plugin-api.ts';
import type { IlabContext } from './context.ts';
import { startGenerate } from './generate.ts';
import { checkTrainInput, sanitizeModelName, startTrain } from './train.ts';

export interface PipelineInput {
  modelName: string;
  branchName: string;
  epochs?: number | null;
  /**
   * Check the branch and the model inside the job: a bad one fails the pipeline with the reason
   * in its log instead of failing the request (the Go server's legacy route did so).
   */
  deferChecks?: boolean | null;
}

const terminal = new Set(['succeeded', 'failed', 'cancelled']);
const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Starts `pipeline/generate-train`: a `p-` group job whose children are a `g-` job on a private
 * worktree of the branch, then a `t-` job. Everything a step needs is checked before the group
 * exists, so bad input is an error now, not a failed pipeline later, unless `deferChecks`.
 */
export async function startPipeline(ctx: IlabContext, input: PipelineInput): Promise<JobRecord> {
  const commit = input.deferChecks ? undefined : (await checkTrainInput(ctx, input)).commit;
  await ctx.cli.invocation([]); // UNAVAILABLE now rather than a failed pipeline when ilab is missing
  const labels: Record<string, string> = { ...ctx.baseLabels, branch: input.branchName, model: input.modelName };
  if (commit) labels.commit = commit;
  if (input.epochs) labels.epochs = String(input.epochs);
  const job = await ctx.jobs.createGroup({ idPrefix: 'p', kind: 'pipeline', command: 'pipeline-generate-train', args: [sanitizeModelName(input.modelName), input.branchName], labels });
  void runPipeline(ctx, job, []);
  return job;
}

/** Continues a pipeline found running after a restart; its children were re-adopted by core. */
export async function resumePipeline(ctx: IlabContext, job: JobRecord): Promise<void> {
  const children = (await ctx.jobs.list({ parentId: job.id })).reverse();
  await ctx.jobs.appendLog(job.id, 'Resuming pipeline job after a backplane restart.\n');
  void runPipeline(ctx, job, children);
}

/** The pipeline's narrative, in the legacy server's words (no timestamps, as Go's log with flags 0). */
async function runPipeline(ctx: IlabContext, pipeline: JobRecord, children: JobRecord[]): Promise<void> {
  const id = pipeline.id;
  const log = (line: string) => ctx.jobs.appendLog(id, `${line}\n`);
  const [modelName, branchName] = pipeline.args;
  const epochs = pipeline.labels.epochs ? Number(pipeline.labels.epochs) : null;
  // Resolved at the start (or, with deferred checks, by the first step, which records it).
  let commit = pipeline.labels.commit ?? children.find((c) => c.labels.commit)?.labels.commit;
  const fail = async (line: string, reason: string) => {
    await log(line);
    await ctx.jobs.settle(id, { status: 'failed', reason });
  };
  // cancelJob on the pipeline cancels its running child first, then the pipeline; a cancelled
  // child (or pipeline) ends the pipeline as cancelled, without starting the next step.
  const cancelled = async (child?: JobRecord) => child?.status === 'cancelled' || (await ctx.jobs.get(id))?.status === 'cancelled';
  const endCancelled = async () => {
    await log('Pipeline job cancelled.');
    await ctx.jobs.settle(id, { status: 'cancelled' });
  };
  try {
    let generate = children.find((c) => c.kind === 'data-generate');
    if (!generate) {
      // The legacy server printed the pointer of epochs (`0xc000012345`); print the number.
      await log(`Starting pipeline job: ${id}, model: ${modelName}, branch: ${branchName}, epochs: ${epochs ?? '<nil>'}`);
      if (!commit) {
        try {
          commit = (await checkTrainInput(ctx, { modelName, branchName })).commit;
        } catch (error) {
          return await fail(describeError(error), describeError(error));
        }
      }
      let worktree;
      try {
        worktree = await ctx.taxonomy.addWorktree(commit);
      } catch (error) {
        return await fail(`Failed to checkout branch '${branchName}': ${describeError(error)}`, 'could not check out the branch');
      }
      await log(`Git checkout output: ${worktree.output}`);
      if (await cancelled()) {
        await ctx.taxonomy.removeWorktree(worktree.token);
        return await endCancelled();
      }
      await log('Starting data generation step...');
      try {
        generate = await startGenerate(ctx, { branchName, commit, worktree, parentId: id });
      } catch (error) {
        return await fail(`Data generation step failed: ${describeError(error)}`, 'the data generation step could not start');
      }
      await log(`Data generation step started with job_id=${generate.id}`);
    }
    if (!terminal.has(generate.status)) generate = await ctx.jobs.wait(generate.id);
    if (await cancelled(generate)) return await endCancelled();
    if (generate.status !== 'succeeded') return await fail('Data generation step failed.', `data generation step ${generate.id} ${generate.status}`);
    let train = children.find((c) => c.kind === 'train');
    // A resumed pipeline whose training already started said this before the restart.
    if (!train) await log('Data generation step completed successfully.');
    if (!train) {
      await log('Starting training step...');
      try {
        train = await startTrain(ctx, { modelName, branchName, epochs, commit, parentId: id, dataSince: generate.startedAt ?? generate.createdAt });
      } catch (error) {
        return await fail(`Training step failed to start: ${describeError(error)}`, 'the training step could not start');
      }
      await log(`Training step started with job_id=${train.id}`);
    }
    if (!terminal.has(train.status)) train = await ctx.jobs.wait(train.id);
    if (await cancelled(train)) return await endCancelled();
    if (train.status !== 'succeeded') return await fail('Training step failed.', `training step ${train.id} ${train.status}`);
    await log('Training step completed successfully.');
    await log('Pipeline job completed successfully.');
    await ctx.jobs.settle(id, { status: 'succeeded' });
  } catch (error) {
    ctx.logger.error('pipeline failed unexpectedly', { job: id, error });
    await fail(`Pipeline job failed: ${describeError(error)}`, describeError(error)).catch(() => undefined);
  }
}
