import type { GpuService, HttpClientService, JobService, Logger, ProcessService, ServingRegistry } from '../../core/plugin-api.ts';
import type { IlabConfig } from './config.ts';
import type { GpuActivity } from './gpu-reclaim.ts';
import type { IlabCli } from './ilab-cli.ts';
import type { ModelsCache } from './models-cache.ts';
import type { IlabPaths } from './paths.ts';
import type { Taxonomy } from './taxonomy.ts';

/** What the plugin's domain functions share: config, resolved paths and core services. */
export interface IlabContext {
  config: IlabConfig;
  paths: IlabPaths;
  cli: IlabCli;
  jobs: JobService;
  gpus: GpuService;
  processes: ProcessService;
  http: HttpClientService;
  serving: ServingRegistry;
  taxonomy: Taxonomy;
  models: ModelsCache;
  /** When each leased GPU last did work (idle model servers). */
  gpuActivity: GpuActivity;
  logger: Logger;
  /** Aborted when the plugin stops (ends waits that would outlive it). */
  stopSignal: AbortSignal;
  /** Labels every job of this plugin gets (`mode: mock` in mock mode). */
  baseLabels: Record<string, string>;
}

/**
 * A GPU lease request for a job, or none when nothing can grant one: with no GPU inventory (the
 * nvidia-smi plugin is not enabled, or has no sample yet) and in mock mode, jobs run unleased.
 */
export function gpuRequest(ctx: IlabContext, count: number): { count: number } | undefined {
  if (ctx.config.mode === 'mock' || ctx.gpus.list().length === 0) return undefined;
  return { count: Math.min(count, ctx.gpus.list().length) };
}

/** Removes a job's taxonomy worktree once the job has ended. */
export function removeWorktreeWhenDone(ctx: IlabContext, jobId: string, token: string): void {
  void ctx.jobs
    .wait(jobId)
    .then(() => ctx.taxonomy.removeWorktree(token))
    .catch((error) => ctx.logger.warn('removing a taxonomy worktree failed', { job: jobId, token, error }));
}
