import { setTimeout as delay } from 'node:timers/promises';
import { hasErrorCode, UnavailableError, type GpuLease, type JobRecord } from '../../core/plugin-api.ts';
import { errorText, leaseHolder, runJobKind, type LlamaContext } from './context.ts';
import { buildLlamaServerArgs } from './llama-args.ts';
import { assertPortFree } from './ports.ts';
import type { LlamaInstance } from './types.ts';

/**
 * Leases the GPUs an instance asks for (none when it asks for none). `wait: false`: a busy GPU
 * is a CONFLICT at once, which the caller may answer by evicting an idle instance.
 */
export async function leaseGpus(ctx: LlamaContext, state: LlamaInstance): Promise<GpuLease | undefined> {
  const { gpuCount, gpuIndices } = state.options;
  if (gpuIndices.length === 0 && gpuCount === 0) return undefined;
  await ctx.gpus.releaseHolder(leaseHolder(state.name));
  return ctx.gpus.acquire({ ...(gpuIndices.length > 0 ? { indices: gpuIndices } : { count: gpuCount }), holder: leaseHolder(state.name), wait: false, signal: ctx.signal });
}

/**
 * Caller holds the mutex. Spawns a run of an instance as a long-running job (its output is the
 * job log, it outlives a daemon restart, it takes no job slot): port checked free first, GPUs
 * from `lease` (or none: `CUDA_VISIBLE_DEVICES` empty). Records the run as `starting`, with
 * `change` (nothing is recorded when the port check or the spawn fails).
 */
export async function spawnRun(ctx: LlamaContext, state: LlamaInstance, lease: GpuLease | undefined, change: Partial<LlamaInstance> = {}): Promise<LlamaInstance> {
  const { config, jobs, processes, registry } = ctx;
  const binary = await processes.which(config.llamaServerPath);
  if (!binary) throw new UnavailableError(`llama-server was not found (${config.llamaServerPath}): build it with scripts/build-llama-server.sh and set plugins.llama-cpp.llamaServerPath`);
  await assertPortFree(state.host, state.port);
  const args = buildLlamaServerArgs({ modelPath: state.modelPath, host: state.host, port: state.port, name: state.name, ...state.options });
  const job = await jobs.start({
    idPrefix: 'llama',
    kind: runJobKind,
    command: binary,
    args,
    env: { CUDA_VISIBLE_DEVICES: lease?.cudaVisibleDevices ?? '', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' },
    labels: { instance: state.name, port: String(state.port), model_path: state.modelPath },
    logHeader: `[backplane] llama-server instance '${state.name}' on ${state.host}:${state.port}${lease ? `, GPUs ${lease.cudaVisibleDevices}` : ''}\n`,
    longRunning: true,
  });
  ctx.logger.info('llama-server started', { instance: state.name, port: state.port, job: job.id, gpus: lease?.indices ?? [] });
  return registry.setStatus(state.name, 'starting', {
    ...change,
    jobId: job.id,
    pid: null,
    pidStartTicks: null,
    gpus: lease?.indices ?? [],
    leaseId: lease?.id ?? null,
    exitCode: null,
    startedAt: new Date(),
    readyAt: null,
    nextRestartAt: null,
    message: 'waiting for GET /health',
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits for the job to settle, up to `ms`; undefined when it did not. */
async function settledWithin(ctx: LlamaContext, jobId: string, ms: number): Promise<JobRecord | undefined> {
  const signal = AbortSignal.any([AbortSignal.timeout(Math.max(1, ms)), ctx.signal]);
  return ctx.jobs.wait(jobId, { signal }).catch(() => undefined);
}

/**
 * Ends a run: SIGTERM to llama-server's process group (SIGKILL at once with `force`), SIGKILL
 * after `timeoutSeconds` if it is still there, then the job service's own cancel as a last
 * resort; releases the run's GPU lease. Resolves with the settled job (undefined when there was none).
 */
export async function terminateRun(ctx: LlamaContext, state: LlamaInstance, { timeoutSeconds, force }: { timeoutSeconds: number; force: boolean }): Promise<JobRecord | undefined> {
  let settled: JobRecord | undefined;
  if (state.jobId) {
    const job = await ctx.jobs.get(state.jobId);
    if (job && (job.status === 'queued' || job.status === 'running')) {
      const pid = job.pid ?? state.pid;
      if (pid && job.status === 'running') {
        signalGroup(pid, force ? 'SIGKILL' : 'SIGTERM');
        settled = await settledWithin(ctx, job.id, force ? 5_000 : timeoutSeconds * 1000);
        if (!settled) {
          ctx.logger.warn('llama-server did not stop after SIGTERM; sending SIGKILL', { instance: state.name, pid, timeoutSeconds });
          await ctx.jobs.appendLog(job.id, `[backplane] no exit ${timeoutSeconds} s after SIGTERM: SIGKILL\n`).catch(() => undefined);
          signalGroup(pid, 'SIGKILL');
          settled = await settledWithin(ctx, job.id, 5_000);
        }
      }
      if (!settled) {
        await ctx.jobs.cancel(job.id).catch((error) => (hasErrorCode(error, 'CONFLICT') ? undefined : ctx.logger.warn('cancelling the run failed', { instance: state.name, error: errorText(error) })));
        settled = await settledWithin(ctx, job.id, 10_000);
      }
    } else settled = job;
  }
  await releaseLease(ctx, state.name);
  return settled;
}

/** Releases an instance's GPU lease, logging (not throwing) a failure. */
export async function releaseLease(ctx: LlamaContext, name: string): Promise<void> {
  await ctx.gpus.releaseHolder(leaseHolder(name)).catch((error) => ctx.logger.warn('releasing the GPU lease failed', { instance: name, error: errorText(error) }));
}

/** How a run's job ended, for messages: `exited with code 1`, `killed by signal SIGKILL`. */
export function exitText(job: JobRecord | undefined): string {
  if (!job) return 'ended';
  if (job.signal) return `killed by signal ${job.signal}`;
  if (job.exitCode !== null) return `exited with code ${job.exitCode}`;
  return job.failureReason ?? 'ended';
}

/** Polls briefly for the pid a just-started job records once its supervisor has started it. */
export async function waitForPid(ctx: LlamaContext, jobId: string, timeoutMs = 5_000): Promise<JobRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !ctx.signal.aborted) {
    const job = await ctx.jobs.get(jobId);
    if (!job || job.pid || (job.status !== 'queued' && job.status !== 'running')) return job;
    await delay(20);
  }
  return undefined;
}
