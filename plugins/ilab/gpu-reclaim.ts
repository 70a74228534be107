import type { JobRecord } from '../../core/plugin-api.ts';
import type { IlabContext } from './context.ts';

/**
 * When each GPU last did work, from the GPU inventory's samples (utilization above 0 %). Model
 * servers are leased their GPUs for as long as they run; this is how the plugin tells an idle
 * one (nobody chats with it) from a busy one.
 */
export class GpuActivity {
  readonly #lastBusy = new Map<number, Date>();
  readonly #ctx: Pick<IlabContext, 'gpus'>;

  constructor(ctx: Pick<IlabContext, 'gpus'>) {
    this.#ctx = ctx;
  }

  /** Reads the latest inventory sample. */
  sample(): void {
    for (const gpu of this.#ctx.gpus.list()) {
      if ((gpu.utilizationPercent ?? 0) > 0) this.#lastBusy.set(gpu.index, gpu.sampledAt);
    }
  }

  /** Since when a server job's GPUs have done nothing (never before the job started); null without GPUs. */
  idleSince(job: JobRecord): Date | null {
    if (job.gpus.length === 0 || job.status !== 'running') return null;
    this.sample();
    let since = job.startedAt ?? job.createdAt;
    for (const index of job.gpus) {
      const busy = this.#lastBusy.get(index);
      if (busy && busy > since) since = busy;
    }
    return since;
  }
}

/** Whether a server job has been idle for `serveIdleMinutes`, so its GPUs may be reclaimed. */
export function isIdle(ctx: IlabContext, activity: GpuActivity, job: JobRecord, now = new Date()): boolean {
  const since = activity.idleSince(job);
  return since !== null && now.getTime() - since.getTime() >= ctx.config.serveIdleMinutes * 60_000;
}

/**
 * The lease-preemption policy (`preemptIdleServers`): before a job that needs `count` GPUs
 * starts, idle local model servers holding GPUs are stopped, longest idle first, until enough
 * GPUs are free or no idle server is left. Each stopped server's log says why. Returns the ids of
 * the stopped server jobs.
 */
export async function reclaimIdleServers(ctx: IlabContext, activity: GpuActivity, count: number, forWhat: string): Promise<string[]> {
  if (!ctx.config.preemptIdleServers || count <= 0) return [];
  const gpus = ctx.gpus.list();
  let shortfall = Math.min(count, gpus.length) - gpus.filter((gpu) => ctx.gpus.isFree(gpu)).length;
  if (shortfall <= 0) return [];
  const now = new Date();
  const idle = (await ctx.jobs.list({ kind: 'serve', status: 'running' }))
    .filter((job) => isIdle(ctx, activity, job, now))
    .sort((a, b) => activity.idleSince(a)!.getTime() - activity.idleSince(b)!.getTime());
  const stopped: string[] = [];
  for (const server of idle) {
    if (shortfall <= 0) break;
    const since = activity.idleSince(server)!;
    const gpuList = server.gpus.join(',');
    await ctx.jobs.appendLog(server.id, `Stopping this model server: its GPU(s) ${gpuList} are needed by ${forWhat}, and it has been idle since ${since.toISOString()} (plugins.ilab.preemptIdleServers).\n`);
    ctx.logger.info('stopping an idle model server to free its GPUs', { job: server.id, gpus: server.gpus, for: forWhat, idleSince: since });
    await ctx.jobs.cancel(server.id).catch((error) => ctx.logger.warn('could not stop an idle model server', { job: server.id, error }));
    stopped.push(server.id);
    shortfall -= server.gpus.length;
  }
  return stopped;
}
