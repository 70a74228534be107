import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../services/logger-service.ts';
import type { ActiveJob } from './active-job.ts';
import type { JobRow } from './job-entity.ts';
import { terminalJobStatuses, type JobRecord } from './job-service.ts';
import type { JobPatch, JobStore } from './job-store.ts';
import { isSameProcessAlive, processStartTicks } from './proc-stat.ts';
import type { RunDir } from './run-dir.ts';

export interface ReconcilerOptions {
  logger: Logger;
  store: JobStore;
  runDir(id: string): RunDir;
  settle(id: string, outcome: JobPatch): Promise<JobRecord>;
  settleFromExit(id: string, runDir: RunDir): Promise<JobRecord>;
  /** Registers a re-adopted job with the runner, so cancel and stop reach it. */
  adopt(row: JobRow): ActiveJob;
  /** Follows an adopted job's log for progress until `ended`. */
  track(row: JobRow, ended: Promise<void>, active: ActiveJob): void;
  /** True once the daemon has let go of its jobs (stop with `onShutdown: keep`). */
  detached(): boolean;
}

/**
 * Restart survival: a job recorded `running` when the previous daemon ended is settled from its
 * supervisor's exit file, re-adopted while its supervisor (or, failing that, its command) lives,
 * or settled as lost. A job that was being launched is adopted when its supervisor claimed the
 * attempt, or fenced and queued again when none did (see supervisor.ts).
 */
export class JobReconciler {
  readonly #o: ReconcilerOptions;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  /** A run directory outlives its job when the daemon dies between settling it and removing it. */
  async removeLeftoverRunDirs(runRoot: string): Promise<void> {
    for (const id of await readdir(runRoot)) {
      const row = await this.#o.store.row(id);
      if (row && !terminalJobStatuses.has(row.status as never)) continue;
      await rm(path.join(runRoot, id), { recursive: true, force: true });
      this.#o.logger.info('removed the run directory of an ended job', { job: id });
    }
  }

  /** A `queued` job with a launch attempt in flight when the previous daemon ended. */
  async reconcileLaunch(row: JobRow): Promise<void> {
    const runDir = this.#o.runDir(row.id);
    const taken = await runDir.fence(row.launchToken!);
    if (taken === 'fenced') {
      // No supervisor took it, and now none ever will: safe to launch again.
      await this.#o.store.update(row.id, { launchToken: null });
      this.#o.logger.info('launch interrupted before its supervisor started the job; queued again', { job: row.id });
      return;
    }
    // Its supervisor took it: wait (briefly) until the supervisor reports the command or ends.
    const deadline = Date.now() + 10_000;
    let state = await runDir.readState();
    while (!state && !existsSync(runDir.exitPath) && Date.now() < deadline && (await isSameProcessAlive(taken.supervisorPid, taken.supervisorStartTicks))) {
      await delay(20);
      state = await runDir.readState();
    }
    if (!state) {
      if (existsSync(runDir.exitPath)) await this.#o.settleFromExit(row.id, runDir);
      else await this.#o.settle(row.id, { status: 'failed', failureReason: 'lost: the job supervisor ended before reporting that the command started' });
      return;
    }
    const patch: JobPatch = {
      status: 'running',
      pid: state.pid,
      pidStartTicks: (await processStartTicks(state.pid)) ?? null,
      supervisorPid: taken.supervisorPid,
      supervisorStartTicks: taken.supervisorStartTicks,
      startedAt: state.startedAt ? new Date(state.startedAt) : new Date(),
    };
    await this.#o.store.update(row.id, patch);
    this.#o.logger.info('adopted a job whose launch the previous daemon did not see through', { job: row.id, pid: state.pid });
    await this.reconcile({ ...row, ...patch } as JobRow);
  }

  async reconcile(row: JobRow): Promise<void> {
    const runDir = this.#o.runDir(row.id);
    if (existsSync(runDir.exitPath)) {
      await this.#o.settleFromExit(row.id, runDir);
      return;
    }
    const supervisorAlive = await isSameProcessAlive(row.supervisorPid, row.supervisorStartTicks);
    const childAlive = await isSameProcessAlive(row.pid, row.pidStartTicks);
    if (!supervisorAlive && !childAlive) {
      await this.#o.settle(row.id, { status: 'failed', failureReason: 'lost: the process ended while backplane was down and no exit status was recorded' });
      return;
    }
    // Re-adopt: the supervisor (or, failing that, the orphaned child) is watched until it ends.
    const active = this.#o.adopt(row);
    this.#o.logger.info('re-adopted running job', { job: row.id, pid: row.pid, supervisor: supervisorAlive });
    const ended = (async () => {
      while (!active.abort.signal.aborted) {
        if (existsSync(runDir.exitPath)) return;
        const alive = supervisorAlive ? await isSameProcessAlive(row.supervisorPid, row.supervisorStartTicks) : await isSameProcessAlive(row.pid, row.pidStartTicks);
        if (!alive) return;
        await delay(250);
      }
    })();
    this.#o.track(row, ended, active);
    void ended.then(async () => {
      if (active.abort.signal.aborted || this.#o.detached()) return;
      if (!supervisorAlive && !existsSync(runDir.exitPath)) {
        active.ended(await this.#o.settle(row.id, { status: row.cancelRequestedAt ? 'cancelled' : 'failed', failureReason: 'the process ended, but its supervisor was gone, so its exit status is unknown' }));
        return;
      }
      active.ended(await this.#o.settleFromExit(row.id, runDir));
    });
  }
}
