import { describeError } from '../errors.ts';
import { ActiveJob } from './active-job.ts';
import type { JobRow } from './job-entity.ts';
import { allowedEnv, jobEnv } from './job-env.ts';
import type { JobRecord } from './job-service.ts';
import { toRecord, type JobPatch, type JobStore } from './job-store.ts';
import type { RunDir } from './run-dir.ts';
import { launchSupervisor, newLaunchToken, type Launch } from './supervisor-launcher.ts';

export interface JobLauncherOptions {
  store: JobStore;
  maxLogBytes: number;
  /** Variables a job inherits from the daemon (`jobs.envAllowList`). */
  envAllowList: readonly string[];
  /** Variables that never reach a job, even when allowed: the API keys' `keyEnv`. */
  secretEnv?: readonly string[];
  /** The jobs with a process in this daemon's life, shared with the coordinator. */
  active: Map<string, ActiveJob>;
  runDir(id: string): RunDir;
  /** The daemon is stopping: launch nothing more. */
  stopping(): boolean;
  /** The daemon has let go of its jobs (`onShutdown: keep`): the next start settles them. */
  detached(): boolean;
  /** A counted job did not start: its `jobs.maxConcurrent` slot goes back. */
  releaseSlot(): void;
  settle(id: string, outcome: JobPatch): Promise<JobRecord>;
  settleFromExit(id: string, runDir: RunDir): Promise<JobRecord>;
  publish(record: JobRecord): void;
  terminate(pgid: number): Promise<void>;
  /** Follows a running job's log for progress. */
  track(row: JobRow, ended: Promise<void>, signal: AbortSignal): void;
}

/**
 * Starts queued jobs through their supervisors and sees each through to its end, keeping the
 * exactly-once protocol of docs/jobs.md: the attempt is recorded before the spawn, and a launch
 * in flight is known until it reaches a stable state (running, settled, or queued again).
 */
export class JobLauncher {
  readonly #o: JobLauncherOptions;
  /** Launches between recording their attempt and a stable state (running, settled, queued again). */
  readonly #launches = new Set<Promise<void>>();

  constructor(options: JobLauncherOptions) {
    this.#o = options;
  }

  /** Resolves once no launch is between its recorded attempt and a stable state. */
  async settled(): Promise<void> {
    while (this.#launches.size > 0) await Promise.allSettled([...this.#launches]);
  }

  /**
   * Launches a job at most once: the attempt is recorded on the row (compare-and-set) before the
   * supervisor is spawned, and the supervisor claims it before it runs anything (supervisor.ts).
   */
  async launch(id: string, counted: boolean): Promise<void> {
    const row = await this.#o.store.row(id);
    const token = newLaunchToken();
    if (!row || row.status !== 'queued' || row.launchToken || this.#o.stopping() || this.#o.active.has(id)) {
      if (counted) this.#o.releaseSlot();
      return;
    }
    const active = new ActiveJob(id, counted);
    this.#o.active.set(id, active);
    if (!(await this.#o.store.claimLaunch(id, token))) {
      this.#o.active.delete(id);
      if (counted) this.#o.releaseSlot();
      return;
    }
    if (this.#o.stopping()) {
      // Stop began while the attempt was being recorded: nothing was spawned, queue it again.
      await this.#o.store.update(id, { launchToken: null });
      this.#o.active.delete(id);
      return;
    }
    const runDir = this.#o.runDir(id);
    active.launch = { runDir, token };
    let stable!: () => void;
    const inFlight = new Promise<void>((resolve) => (stable = resolve));
    this.#launches.add(inFlight);
    void inFlight.finally(() => this.#launches.delete(inFlight));
    let launch: Launch;
    try {
      const base = allowedEnv(process.env, { allowList: this.#o.envAllowList, deny: this.#o.secretEnv ?? [] });
      launch = await launchSupervisor(row, runDir, { token, env: jobEnv(base, row.env, row.gpus), supervisorEnv: base, maxLogBytes: this.#o.maxLogBytes, shouldStart: () => !active.cancelled && !this.#o.stopping() });
      if (launch.status === 'claimed' && launch.pid !== undefined) await this.#recordRunning(active, row, launch);
    } catch (error) {
      // Nothing is known to run (the attempt may still be claimed); fencing keeps it that way.
      await runDir.fence(token).catch(() => undefined);
      stable();
      active.ended(await this.#o.settle(id, { status: 'failed', failureReason: `could not start: ${describeError(error)}` }));
      return;
    }
    active.launch = undefined;
    stable();
    if (launch.status === 'fenced' && !active.cancelled) {
      // Fenced by a stop: it never ran, and the next start launches it.
      await this.#o.store.update(id, { launchToken: null });
      this.#o.active.delete(id);
      return;
    }
    if (launch.status !== 'claimed') {
      const outcome: JobPatch = active.cancelled ? { status: 'cancelled', failureReason: null } : { status: 'failed', failureReason: 'lost: the job supervisor ended before it started the command' };
      active.ended(await this.#o.settle(id, outcome));
      return;
    }
    await launch.ended;
    // With `onShutdown: keep` the job outlives this daemon; the next start settles it.
    if (this.#o.detached()) return;
    active.ended(await this.#o.settleFromExit(id, runDir));
  }

  /** The command started: the row says `running` (with the pids a restart re-adopts by). */
  async #recordRunning(active: ActiveJob, row: JobRow, launch: Extract<Launch, { status: 'claimed' }>): Promise<void> {
    const pid = launch.pid!;
    active.pid = pid;
    const patch: JobPatch = {
      status: 'running',
      pid,
      pidStartTicks: launch.pidStartTicks ?? null,
      supervisorPid: launch.supervisorPid ?? null,
      supervisorStartTicks: launch.supervisorStartTicks ?? null,
      startedAt: new Date(),
    };
    await this.#o.store.update(row.id, patch);
    this.#o.publish({ ...toRecord(row), ...patch } as JobRecord);
    if (active.cancelled) void this.#o.terminate(pid);
    this.#o.track(row, launch.ended, active.abort.signal);
  }

}
