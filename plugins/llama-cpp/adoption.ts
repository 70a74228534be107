import { baseUrlOf, errorText, type LlamaContext } from './context.ts';
import { sampleProcess } from './proc-stats.ts';
import { exitText, releaseLease, terminateRun } from './run-control.ts';
import type { Supervisor } from './supervisor.ts';
import type { LlamaInstance } from './types.ts';

/** What {@link adoptInstances} did, for the init log line. */
export interface AdoptionReport {
  adopted: number;
  settled: number;
  restarting: number;
}

/**
 * Run at init, before the API is handed out: every instance recorded with a run (starting,
 * running, stopping, restarting) is re-adopted or settled. A run is adopted only when its job
 * is still running (core re-adopted its supervisor), with the recorded pid, that pid's process
 * start time from /proc matches the recorded one (pids get reused), and its port answers
 * `/health` (200 → `running`, 503 → `starting`). A run that fails any check is killed (when it is
 * provably ours) and handled as a crash: restarted per its policy, or `failed`. A stop that was
 * under way finishes; a pending crash restart is rescheduled.
 */
export async function adoptInstances(ctx: LlamaContext, supervisor: Supervisor): Promise<AdoptionReport> {
  const report: AdoptionReport = { adopted: 0, settled: 0, restarting: 0 };
  for (const state of ctx.registry.list()) {
    try {
      await ctx.mutex.run(state.name, () => adoptOne(ctx, supervisor, state, report));
    } catch (error) {
      ctx.logger.error('adopting a llama-server instance failed', { instance: state.name, error: errorText(error) });
    }
  }
  return report;
}

async function adoptOne(ctx: LlamaContext, supervisor: Supervisor, state: LlamaInstance, report: AdoptionReport): Promise<void> {
  const { registry, jobs, http, logger } = ctx;
  if (state.status === 'stopped' || state.status === 'failed') return;
  if (state.status === 'restarting') {
    supervisor.scheduleRestart(state.name, state.nextRestartAt ?? new Date());
    report.restarting++;
    return;
  }
  const job = state.jobId ? await jobs.get(state.jobId) : undefined;
  const pid = job?.pid ?? null;
  const samePid = job?.status === 'running' && pid !== null && (state.pid === null || state.pid === pid);
  const sample = samePid ? await sampleProcess(pid) : undefined;
  const sameProcess = sample !== undefined && (state.pidStartTicks === null || sample.startTicks === state.pidStartTicks);
  if (state.status === 'stopping' || state.desired === 'stopped') {
    if (job && (job.status === 'running' || job.status === 'queued')) await terminateRun(ctx, state, { timeoutSeconds: ctx.config.stopTimeoutSeconds, force: false });
    else await releaseLease(ctx, state.name);
    await registry.setStatus(state.name, 'stopped', { pid: null, pidStartTicks: null, gpus: [], leaseId: null, message: null });
    report.settled++;
    return;
  }
  if (sameProcess) {
    const probe = await http.probe(`${baseUrlOf(state)}/health`, { timeoutMs: ctx.config.healthTimeoutMs });
    if (probe.status === 200 || probe.status === 503) {
      const status = probe.status === 200 ? 'running' : 'starting';
      await registry.setStatus(state.name, status, {
        pid,
        pidStartTicks: sample.startTicks,
        ...(status === 'running' ? { readyAt: state.readyAt ?? new Date() } : {}),
        message: status === 'running' ? null : 'loading the model',
      });
      supervisor.watch(state.name, job!.id);
      logger.info('re-adopted a llama-server run', { instance: state.name, pid, port: state.port, job: job!.id, status });
      report.adopted++;
      return;
    }
    // Alive but not serving its port: it cannot be trusted; it is provably ours, so end it.
    await terminateRun(ctx, state, { timeoutSeconds: 5, force: false });
    await supervisor.crashed(state, `after a daemon restart, pid ${pid} no longer answered on port ${state.port}`);
  } else {
    if (job && (job.status === 'running' || job.status === 'queued') && !sameProcess) await jobs.cancel(job.id).catch(() => undefined);
    await releaseLease(ctx, state.name);
    const why = job ? (job.status === 'running' ? `pid ${pid ?? '?'} is not the recorded process` : `llama-server ${exitText(job)} while backplane was down`) : 'its run was lost while backplane was down';
    await supervisor.crashed(state, why, { change: { exitCode: job?.exitCode ?? null } });
  }
  const after = registry.get(state.name);
  if (after?.status === 'restarting') report.restarting++;
  else report.settled++;
}
