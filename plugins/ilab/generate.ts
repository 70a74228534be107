import type { JobRecord } from '../../core/plugin-api.ts';
import { removeWorktreeWhenDone, type IlabContext } from './context.ts';
import { generateProgress } from './progress.ts';
import type { Worktree } from './taxonomy.ts';

export interface GenerateInput {
  /** Generate from this branch of the taxonomy (in a private worktree); the repository as it is otherwise. */
  branchName?: string | null;
  /** A worktree already prepared by the caller (the pipeline logs git's output first). */
  worktree?: Worktree;
  commit?: string;
  parentId?: string;
}

/** Starts `ilab data generate` as a `g-` job. */
export async function startGenerate(ctx: IlabContext, input: GenerateInput = {}): Promise<JobRecord> {
  let worktree = input.worktree;
  let commit = input.commit;
  if (!worktree && input.branchName) {
    commit = await ctx.taxonomy.resolveBranch(input.branchName);
    worktree = await ctx.taxonomy.addWorktree(commit);
  }
  const args = ['data', 'generate', '--pipeline', ctx.config.generatePipeline, `--taxonomy-path=${worktree?.dir ?? ctx.paths.taxonomy}`];
  const labels: Record<string, string> = { ...ctx.baseLabels };
  if (input.branchName) labels.branch = input.branchName;
  if (commit) labels.commit = commit;
  if (worktree) labels.worktree = worktree.token;
  let job: JobRecord;
  try {
    const call = await ctx.cli.invocation(args);
    job = await ctx.jobs.start({
      idPrefix: 'g',
      kind: 'data-generate',
      command: call.command,
      args: call.args,
      cwd: call.cwd,
      env: call.env,
      labels,
      parentId: input.parentId,
      progress: generateProgress,
    });
  } catch (error) {
    if (worktree) await ctx.taxonomy.removeWorktree(worktree.token).catch(() => undefined);
    throw error;
  }
  if (worktree) removeWorktreeWhenDone(ctx, job.id, worktree.token);
  return job;
}
