import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, describeError, InputError, NotFoundError } from '../errors.ts';
import type { GpuManager } from '../gpus/gpu-manager.ts';
import type { Logger } from '../services/logger-service.ts';
import type { RootPubSub } from '../services/pubsub-service.ts';
import { ActiveJob } from './active-job.ts';
import type { JobAdmin } from './job-admin.ts';
import { createJobIdGenerator } from './job-id.ts';
import { pluginJobService } from './job-plugin-facade.ts';
import { JobLauncher } from './job-launcher.ts';
import { JobQueue } from './job-queue.ts';
import { JobReconciler } from './job-reconciler.ts';
import { groupJobRow, processJobRow } from './job-rows.ts';
import type { JobGroupSpec, JobListFilter, JobRecord, JobService, JobSpec } from './job-service.ts';
import { terminalJobStatuses } from './job-service.ts';
import { toRecord, type JobField, type JobPage, type JobPatch, type JobStore } from './job-store.ts';
import { jobTopic } from './job-topic.ts';
import { appendCapped, readTail } from './log-file.ts';
import { ProgressTracker } from './progress-tracker.ts';
import { exitOutcome, RunDir } from './run-dir.ts';
import { terminateGroup } from './terminate-group.ts';

export interface JobManagerOptions {
  store: JobStore;
  dataDir: string;
  logger: Logger;
  pubsub: RootPubSub;
  gpus: GpuManager;
  maxConcurrent: number;
  /** How long a job waiting for GPUs lets later jobs that fit take them (`jobs.backfillWindowMs`). */
  backfillWindowMs: number;
  /** How long a job may stay queued before it fails (`jobs.maxWaitMs`); 0 for no limit. */
  maxWaitMs: number;
  killGraceSeconds: number;
  maxLogBytes: number;
  onShutdown: 'keep' | 'stop';
  /** Variables a job inherits from the daemon (`jobs.envAllowList`). */
  envAllowList: readonly string[];
  /** Variables that never reach a job, even when allowed: the API keys' `keyEnv`. */
  secretEnv?: readonly string[];
}

type GroupResumer = (job: JobRecord) => Promise<void> | void;

/** Restricts a call to one plugin's jobs: a job of another plugin is NOT_FOUND. */
export interface JobOwner {
  plugin: string;
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`Job not found: ${id}`);
}

/**
 * The job runner's coordinator: records jobs, hands them to the queue, settles them, and
 * answers waits and cancels. Admission is in job-queue.ts, launching in job-launcher.ts, the
 * supervisor in supervisor-launcher.ts, progress in progress-tracker.ts, restart survival in
 * job-reconciler.ts, and what a plugin sees in job-plugin-facade.ts.
 */
export class JobManager implements JobAdmin {
  readonly #o: JobManagerOptions;
  readonly #nextId = createJobIdGenerator();
  readonly #active = new Map<string, ActiveJob>();
  readonly #waiters = new Map<string, Set<(job: JobRecord) => void>>();
  readonly #resumers = new Map<string, GroupResumer>();
  readonly #groupLogs = new Map<string, { path: string; plugin: string }>();
  readonly #queue: JobQueue;
  readonly #launcher: JobLauncher;
  readonly #reconciler: JobReconciler;
  readonly progress: ProgressTracker;
  /** Waiting reasons being written to logs, one after another. */
  #waitNotes: Promise<void> = Promise.resolve();
  #stopping = false;
  #detached = false;

  constructor(options: JobManagerOptions) {
    this.#o = options;
    const publish = (record: JobRecord) => this.#publish(record);
    this.progress = new ProgressTracker({ store: options.store, logger: options.logger, publish });
    this.#queue = new JobQueue({
      store: options.store,
      gpus: options.gpus,
      logger: options.logger,
      maxConcurrent: options.maxConcurrent,
      onShutdown: options.onShutdown,
      backfillWindowMs: options.backfillWindowMs,
      maxWaitMs: options.maxWaitMs,
      waiting: (id, reason) => this.#noteWaiting(id, reason),
      launch: (id, counted) => void this.#launcher.launch(id, counted).catch((error) => this.#o.logger.error('job launch failed', { job: id, error })),
      settle: (id, outcome) => this.#settleRow(id, outcome),
    });
    this.#launcher = new JobLauncher({
      store: options.store,
      maxLogBytes: options.maxLogBytes,
      envAllowList: options.envAllowList,
      secretEnv: options.secretEnv,
      active: this.#active,
      runDir: (id) => this.#runDirOf(id),
      stopping: () => this.#stopping,
      detached: () => this.#detached,
      releaseSlot: () => this.#queue.release(),
      settle: (id, outcome) => this.#settleRow(id, outcome),
      settleFromExit: (id, runDir) => this.#settleFromExitFile(id, runDir),
      publish,
      terminate: (pgid) => this.#terminate(pgid),
      track: (row, ended, signal) => this.progress.track(row, ended, signal),
    });
    this.#reconciler = new JobReconciler({
      logger: options.logger,
      store: options.store,
      runDir: (id) => this.#runDirOf(id),
      settle: (id, outcome) => this.#settleRow(id, outcome),
      settleFromExit: (id, runDir) => this.#settleFromExitFile(id, runDir),
      adopt: (row) => {
        const active = new ActiveJob(row.id, !row.longRunning, row.pid ?? undefined);
        active.cancelled = row.cancelRequestedAt != null;
        this.#active.set(row.id, active);
        if (active.counted) this.#queue.occupy();
        return active;
      },
      track: (row, ended, active) => this.progress.track(row, ended, active.abort.signal),
      detached: () => this.#detached,
    });
  }

  get logDir(): string {
    return path.join(this.#o.dataDir, 'logs');
  }

  get #runRoot(): string {
    return path.join(this.#o.dataDir, 'run');
  }

  #runDirOf(id: string): RunDir {
    return new RunDir(this.#runRoot, id);
  }

  /**
   * Settles or re-adopts what was running (or being launched) when the previous daemon stopped,
   * then removes run directories of jobs that have ended. Every step can be interrupted and
   * repeated: a kill during boot leaves nothing the next start cannot finish.
   */
  async start(): Promise<void> {
    await mkdir(this.logDir, { recursive: true, mode: 0o700 });
    await mkdir(this.#runRoot, { recursive: true, mode: 0o700 });
    for (const row of await this.#o.store.withStatus(['running'])) {
      if (row.hasProcess) await this.#reconciler.reconcile(row);
    }
    for (const row of await this.#o.store.withStatus(['queued'])) {
      if (row.launchToken) await this.#reconciler.reconcileLaunch(row);
    }
    await this.#reconciler.removeLeftoverRunDirs(this.#runRoot);
  }

  /**
   * Queues again what was queued, in its original order. Called once plugins have started, so
   * GPU inventory and progress parsers are registered before those jobs need them.
   */
  async resumeQueue(): Promise<void> {
    for (const row of await this.#o.store.withStatus(['queued'])) this.#queue.enqueue(row);
    this.#queue.pump();
  }

  /** Group jobs (pipelines) found running: resumed by their plugin, or settled as failed. */
  async resumeGroups(): Promise<void> {
    for (const row of await this.#o.store.withStatus(['running'])) {
      if (row.hasProcess) continue;
      const resume = this.#resumers.get(`${row.plugin}/${row.kind}`);
      if (!resume) {
        await this.#settleRow(row.id, { status: 'failed', failureReason: 'interrupted: backplane restarted while this job was running' });
        continue;
      }
      try {
        await resume(toRecord(row));
      } catch (error) {
        await this.#settleRow(row.id, { status: 'failed', failureReason: `could not resume after restart: ${describeError(error)}` });
      }
    }
  }

  forPlugin(plugin: string): JobService {
    return pluginJobService(this, plugin);
  }

  registerGroupResumer(plugin: string, kind: string, resume: GroupResumer): void {
    this.#resumers.set(`${plugin}/${kind}`, resume);
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.#o.store.get(id);
  }

  list(filter?: JobListFilter): Promise<JobRecord[]> {
    return this.#o.store.list(filter);
  }

  /** Newest first, `first` at a time, after the cursor of a previous page. */
  page(filter: JobListFilter, first: number, after: string | undefined, fields?: readonly JobField[]): Promise<JobPage> {
    return this.#o.store.page(filter, first, after, fields);
  }

  /** What a queued job waits for (`waiting for 4 GPUs (…)`), or null. */
  waitingFor(id: string): string | null {
    return this.#queue.waitingFor(id) ?? null;
  }

  /**
   * A new waiting reason goes into the job's log (once per change) and to jobUpdated. When the
   * job waits no more, its launch or its end publishes the next state.
   */
  #noteWaiting(id: string, reason: string | null): void {
    if (reason === null) return;
    this.#waitNotes = this.#waitNotes
      .then(async () => {
        const before = await this.#o.store.get(id);
        if (before?.status !== 'queued') return;
        const line = `[backplane] ${reason}`;
        // After a restart the job may wait for what its log already says.
        const last = await readTail(before.logPath, 1).then(({ text }) => text.replace(/\n$/, ''), () => '');
        if (last !== line) await appendCapped(before.logPath, `${line}\n`, this.#o.maxLogBytes);
        // Read again: published only while still queued, never after the job's end.
        const record = await this.#o.store.get(id);
        if (record?.status === 'queued') this.#publish(record);
      })
      .catch((error) => this.#o.logger.error('recording what a job waits for failed', { job: id, error }));
  }

  /** Resolves with the job once it has ended. With `owner`, only for that plugin's jobs. */
  async wait(id: string, signal?: AbortSignal, owner?: JobOwner): Promise<JobRecord> {
    const job = await this.get(id);
    if (!job || (owner && job.plugin !== owner.plugin)) throw notFound(id);
    if (terminalJobStatuses.has(job.status)) return job;
    return new Promise<JobRecord>((resolve, reject) => {
      let set = this.#waiters.get(id);
      if (!set) {
        set = new Set();
        this.#waiters.set(id, set);
      }
      const waiter = (settled: JobRecord) => resolve(settled);
      set.add(waiter);
      signal?.addEventListener('abort', () => {
        set.delete(waiter);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Cancels a job (daemon-wide, or with `owner` only that plugin's). */
  async cancel(id: string, owner?: JobOwner): Promise<JobRecord> {
    const row = await this.#o.store.row(id);
    if (!row || (owner && row.plugin !== owner.plugin)) throw notFound(id);
    if (terminalJobStatuses.has(row.status as never)) throw new ConflictError(`Job ${id} has already ended (${row.status})`);
    if (!row.hasProcess) {
      for (const child of await this.#o.store.list({ parentId: id })) {
        if (!terminalJobStatuses.has(child.status)) await this.cancel(child.id).catch(() => undefined);
      }
      return this.#settleRow(id, { status: 'cancelled', failureReason: null });
    }
    if (row.status === 'queued' || !row.pid) {
      this.#queue.remove(id);
      const active = this.#active.get(id);
      if (active) {
        // Being launched: a fenced attempt never runs; one its supervisor already took is
        // terminated by the launch as soon as the command's pid is known.
        active.cancelled = true;
        await this.#o.store.update(id, { cancelRequestedAt: new Date() });
        if (active.launch) await active.launch.runDir.fence(active.launch.token);
        return active.done;
      }
      return this.#settleRow(id, { status: 'cancelled', failureReason: null });
    }
    await this.#o.store.update(id, { cancelRequestedAt: new Date() });
    const active = this.#active.get(id);
    if (active) active.cancelled = true;
    await this.#terminate(row.pid);
    return active ? active.done : this.wait(id);
  }

  /** Appends to a job's log (group jobs write their own narrative this way). */
  async appendLog(id: string, text: string, owner?: JobOwner): Promise<void> {
    let log = this.#groupLogs.get(id);
    if (!log) {
      const row = await this.#o.store.row(id);
      if (!row) throw notFound(id);
      log = { path: row.logPath, plugin: row.plugin };
      if (this.#groupLogs.size > 1000) this.#groupLogs.clear();
      this.#groupLogs.set(id, log);
    }
    if (owner && log.plugin !== owner.plugin) throw notFound(id);
    await appendCapped(log.path, text, this.#o.maxLogBytes);
  }

  /** Ends a group job (one without a process). */
  async settleGroup(id: string, outcome: { status: 'succeeded' | 'failed' | 'cancelled'; reason?: string }, owner?: JobOwner): Promise<JobRecord> {
    const row = await this.#o.store.row(id);
    if (!row || (owner && row.plugin !== owner.plugin)) throw notFound(id);
    if (row.hasProcess) throw new InputError(`Job ${id} has a process; it settles when the process ends`);
    if (terminalJobStatuses.has(row.status as never)) return toRecord(row);
    return this.#settleRow(id, { status: outcome.status, failureReason: outcome.reason ?? null });
  }

  #terminate(pgid: number): Promise<void> {
    return terminateGroup(pgid, this.#o.killGraceSeconds * 1000, () => this.#o.logger.info('job ignored SIGTERM; sending SIGKILL', { pgid }));
  }

  async startJob(plugin: string, spec: JobSpec): Promise<JobRecord> {
    if (this.#stopping) throw new ConflictError('backplane is stopping; no new jobs');
    if (typeof spec.command !== 'string' || spec.command === '') throw new InputError('job command must be a non-empty string');
    if (!Array.isArray(spec.args) || spec.args.some((a) => typeof a !== 'string')) throw new InputError('job args must be strings');
    const { id, seq } = this.#nextId(spec.idPrefix);
    const logPath = path.join(this.logDir, `${id}.log`);
    await writeFile(logPath, spec.logHeader ?? '', { flag: 'wx', mode: 0o600 });
    const row = processJobRow({ id, seq, plugin, logPath }, spec);
    const record = await this.#o.store.insert(row);
    if (spec.progress) this.progress.registerJob(id, spec.progress);
    this.#publish(record);
    this.#queue.enqueue(row);
    this.#queue.pump();
    return record;
  }

  async createGroup(plugin: string, spec: JobGroupSpec): Promise<JobRecord> {
    const { id, seq } = this.#nextId(spec.idPrefix);
    const logPath = path.join(this.logDir, `${id}.log`);
    await writeFile(logPath, '', { flag: 'wx', mode: 0o600 });
    const record = await this.#o.store.insert(groupJobRow({ id, seq, plugin, logPath }, spec));
    this.#publish(record);
    return record;
  }

  /** Settles a job from its supervisor's exit file (or as lost when there is none). */
  async #settleFromExitFile(id: string, runDir: RunDir): Promise<JobRecord> {
    const exit = await runDir.readExit();
    const row = await this.#o.store.row(id);
    const settled = await this.#settleRow(id, exitOutcome(exit, row?.cancelRequestedAt != null));
    await rm(runDir.dir, { recursive: true, force: true });
    return settled;
  }

  async #settleRow(id: string, outcome: JobPatch): Promise<JobRecord> {
    // Every settle path comes here once the process is gone (or never ran). The GPUs go back
    // first: whoever reads the terminal status (from the database or jobUpdated) must find
    // them free already.
    await this.#o.gpus.releaseHolder({ kind: 'job', id }).catch((error) => this.#o.logger.error('releasing GPU lease failed', { job: id, error }));
    const patch: JobPatch = { finishedAt: new Date(), ...outcome };
    await this.#o.store.update(id, patch);
    // Ended for good: no attempt of it can start any more, so its fences may go too.
    await rm(this.#runDirOf(id).dir, { recursive: true, force: true });
    const record = (await this.#o.store.get(id))!;
    const active = this.#active.get(id);
    this.#active.delete(id);
    this.progress.forget(id);
    if (active?.counted) this.#queue.release();
    this.#publish(record);
    const waiters = this.#waiters.get(id);
    this.#waiters.delete(id);
    for (const resolve of waiters ?? []) resolve(record);
    this.#o.logger.info('job ended', { job: id, status: record.status, exitCode: record.exitCode, reason: record.failureReason });
    return record;
  }

  /**
   * Graceful stop: `jobs.onShutdown: stop` cancels running jobs; `keep` leaves them running.
   * Launches in flight are seen through first: an attempt its supervisor already took is
   * recorded `running`; one it did not is fenced and stays `queued` for the next start.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#queue.stop();
    await this.#waitNotes;
    if (this.#o.onShutdown === 'stop') {
      await Promise.allSettled([...this.#active.keys()].map((id) => this.cancel(id)));
    } else {
      const launching = [...this.#active.values()].flatMap((active) => (active.launch ? [active.launch] : []));
      await Promise.allSettled(launching.map(({ runDir, token }) => runDir.fence(token)));
    }
    await this.#launcher.settled();
    this.#detached = true;
    for (const active of this.#active.values()) active.abort.abort(new Error('backplane stopping'));
    // Progress writes must land before the database closes.
    await this.progress.drain();
  }

  #publish(record: JobRecord): void {
    this.#o.pubsub.publish(jobTopic, record);
  }
}
