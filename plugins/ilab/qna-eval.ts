import { open, stat } from 'node:fs/promises';
import { BackendError, InputError, UnavailableError, type JobRecord } from '../../core/plugin-api.ts';
import { gpuRequest, type IlabContext } from './context.ts';
import { reclaimIdleServers } from './gpu-reclaim.ts';
import { confinePath } from './paths.ts';
import { qnaEvalProgress } from './progress.ts';

export interface QnaEvalInput {
  modelPath: string;
  yamlFile: string;
}

export interface QnaEvalResult {
  jobId: string;
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'timedOut';
  /** The container's output (stdout and stderr as the job log holds them). */
  output: string;
}

/** The most of a log returned as a result; the legacy server held all of stdout in memory. */
const maxOutputBytes = 8 * 1024 * 1024;

/**
 * Starts the qna-eval container as a `q-` job: `podman run --rm --quiet <gpu> -v <model>:ro
 * -v <yaml>:ro <image> --model_path <p> --yaml_file <y>`. Only the two paths are mounted
 * (read-only), never `$HOME`. Both must be inside the configured roots; a path outside them is
 * refused before anything looks at it, so the answer reveals nothing about other files.
 */
export async function startQnaEval(ctx: IlabContext, { modelPath, yamlFile }: QnaEvalInput): Promise<JobRecord> {
  const model = await confinePath(modelPath, [ctx.paths.checkpoints, ctx.paths.models], {
    outside: () => new InputError(`Model path is outside the allowed directories: ${modelPath}`),
    missing: () => new InputError(`Model path does not exist: ${modelPath}`),
  });
  const yaml = await confinePath(yamlFile, ctx.paths.yamlDirs, {
    outside: () => new InputError(`YAML file is outside the allowed directories: ${yamlFile}`),
    missing: () => new InputError(`YAML file does not exist: ${yamlFile}`),
  });
  const { podmanBin, image } = ctx.config.qnaEval;
  const podman = await ctx.processes.which(podmanBin);
  if (!podman) throw new UnavailableError(`podman is not available: '${podmanBin}' was not found; install podman or set plugins.ilab.qnaEval.podmanBin`);
  const gpus = gpuRequest(ctx, ctx.config.qnaEval.gpus);
  if (gpus) await reclaimIdleServers(ctx, ctx.gpuActivity, gpus.count, 'a qna-eval job');
  // With a lease, the container sees every GPU but CUDA only the leased ones (passed through).
  const gpuEnv = gpus ? ['--env', 'CUDA_VISIBLE_DEVICES', '--env', 'CUDA_DEVICE_ORDER'] : [];
  const args = ['run', '--rm', '--quiet', '--device', 'nvidia.com/gpu=all', ...gpuEnv, '-v', `${model}:${model}:ro`, '-v', `${yaml}:${yaml}:ro`, image, '--model_path', model, '--yaml_file', yaml];
  return ctx.jobs.start({
    idPrefix: 'q',
    kind: 'qna-eval',
    command: podman,
    args,
    labels: { ...ctx.baseLabels, model_path: model, yaml_file: yaml },
    gpus,
    progress: qnaEvalProgress,
  });
}

/** Runs an evaluation and waits for it (the legacy route answers synchronously), up to the timeout. */
export async function runQnaEval(ctx: IlabContext, input: QnaEvalInput): Promise<QnaEvalResult> {
  const job = await startQnaEval(ctx, input);
  const timeoutMs = ctx.config.qnaEval.timeoutMs;
  let settled: JobRecord;
  try {
    settled = await ctx.jobs.wait(job.id, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ctx.stopSignal]) });
  } catch {
    await ctx.jobs.cancel(job.id).catch(() => undefined);
    const why = ctx.stopSignal.aborted ? 'backplane is stopping' : `qna-eval did not finish within ${timeoutMs} ms`;
    return { jobId: job.id, outcome: 'timedOut', output: `${why}; job ${job.id} was cancelled` };
  }
  const output = await readOutput(settled.logPath);
  if (settled.status === 'succeeded') return { jobId: job.id, outcome: 'succeeded', output };
  const outcome = settled.status === 'cancelled' ? 'cancelled' : 'failed';
  return { jobId: job.id, outcome, output: output || settled.failureReason || `qna-eval ${outcome}` };
}

async function readOutput(logPath: string): Promise<string> {
  const size = (await stat(logPath).catch(() => undefined))?.size ?? 0;
  if (size === 0) return '';
  const file = await open(logPath, 'r');
  try {
    const length = Math.min(size, maxOutputBytes);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch (error) {
    throw new BackendError('Failed to read the qna-eval output', { cause: error });
  } finally {
    await file.close();
  }
}
