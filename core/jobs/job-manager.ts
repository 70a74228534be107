import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConflictError, describeError, InputError, NotFoundError } from '../errors.ts';
import type { GpuService } from '../services/gpu-service.ts';
import type { Logger } from '../services/logger-service.ts';
import type { RootPubSub } from '../services/pubsub-service.ts';
import { createJobIdGenerator } from './job-id.ts';
import type { JobRow } from './job-entity.ts';
import type { JobGroupSpec, JobListFilter, JobRecord, JobService, JobSpec, ProgressParser, ProgressParserFactory } from './job-service.ts';
import { terminalJobStatuses } from './job-service.ts';
import { toRecord, type JobPage, type JobPatch, type JobStore } from './job-store.ts';
import { appendCapped, followLines } from './log-file.ts';
import { groupAlive, isSameProcessAlive, processStartTicks, signalGroup } from './proc-stat.ts';
import { progressLines } from './progress-lines.ts';

export const jobTopic = 'core:jobs';

export interface JobManagerOptions {
  store: JobStore;
  dataDir: string;
  logger: Logger;
  pubsub: RootPubSub;
  gpus: GpuService;
  maxConcurrent: number;
  killGraceSeconds: number;
  maxLogBytes: number;
  onShutdown: 'keep' | 'stop';
}

/** What the manager knows about a job that has (or had) a process in this daemon's life. */
interface Active {
  id: string;
  kind: string;
  /** Takes a jobs.maxConcurrent slot (not for long-running service jobs). */
  counted: boolean;
  pid: number | undefined;
  /** Settles when the job has been recorded as ended. */
  done: Promise<JobRecord>;
  cancelled: boolean;
  abort: AbortController;
}

const supervisorPath = fileURLToPath(new URL('./supervisor.ts', import.meta.url));

/**
 * The job runner: FIFO queue under `jobs.maxConcurrent`, a supervisor per job (see
 * supervisor.ts), progress from log lines, cancel of the process group with a grace period,
 * and reconciliation of what was running when the daemon last stopped.
 */
export class JobManager {
  readonly #o: JobManagerOptions;
  readonly #nextId = createJobIdGenerator();
  readonly #queue: string[] = [];
  readonly #active = new Map<string, Active>();
  readonly #waiters = new Map<string, Set<(job: JobRecord) => void>>();
  readonly #parsers = new Map<string, ProgressParserFactory>();
  readonly #jobParsers = new Map<string, ProgressParserFactory>();
  readonly #trackers = new Set<Promise<void>>();
  readonly #resumers = new Map<string, (job: JobRecord) => Promise<void> | void>();
  readonly #gpuWaits = new Map<string, AbortController>();
  readonly #gpuSettling = new Set<Promise<void>>();
  readonly #groupLogs = new Map<string, string>();
  #running = 0;
  #stopping = false;
  #detached = false;

  constructor(options: JobManagerOptions) {
    this.#o = options;
  }

  get logDir(): string {
    return path.join(this.#o.dataDir, 'logs');
  }

  get #runDir(): string {
    return path.join(this.#o.dataDir, 'run');
  }

  /** Settles or re-adopts what was running when the previous daemon stopped. */
  async start(): Promise<void> {
    await mkdir(this.logDir, { recursive: true });
    await mkdir(this.#runDir, { recursive: true });
    for (const row of await this.#o.store.withStatus(['running'])) {
      if (row.hasProcess) await this.#reconcile(row);
    }
  }

  /**
   * Queues again what was queued, in its original order. Called once plugins have started, so
   * GPU inventory and progress parsers are registered before those jobs need them.
   */
  async resumeQueue(): Promise<void> {
    for (const row of await this.#o.store.withStatus(['queued'])) this.#enqueue(row);
    this.#pump();
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
    return {
      start: (spec) => this.#startJob(plugin, spec),
      createGroup: (spec) => this.#createGroup(plugin, spec),
      appendLog: async (id, text) => {
        let logPath = this.#groupLogs.get(id);
        if (!logPath) {
          const row = await this.#o.store.row(id);
          if (!row) throw new NotFoundError(`Job not found: ${id}`);
          logPath = row.logPath;
          if (this.#groupLogs.size > 1000) this.#groupLogs.clear();
          this.#groupLogs.set(id, logPath);
        }
        await appendCapped(logPath, text, this.#o.maxLogBytes);
      },
      settle: async (id, outcome) => {
        const row = await this.#o.store.row(id);
        if (!row) throw new NotFoundError(`Job not found: ${id}`);
        if (row.hasProcess) throw new InputError(`Job ${id} has a process; it settles when the process ends`);
        if (terminalJobStatuses.has(row.status as never)) return toRecord(row);
        return this.#settleRow(id, { status: outcome.status, failureReason: outcome.reason ?? null });
      },
      get: (id) => this.get(id),
      cancel: (id) => this.cancel(id),
      wait: (id, options) => this.wait(id, options?.signal),
      registerProgressParser: (kind, create) => {
        this.#parsers.set(`${plugin}/${kind}`, create);
      },
      registerGroupResumer: (kind, resume) => {
        this.#resumers.set(`${plugin}/${kind}`, resume);
      },
      list: (filter) => this.#o.store.list({ ...filter, plugin }),
    };
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.#o.store.get(id);
  }

  list(filter?: JobListFilter): Promise<JobRecord[]> {
    return this.#o.store.list(filter);
  }

  /** Newest first, `first` at a time, after the cursor of a previous page. */
  page(filter: JobListFilter, first: number, after: string | undefined): Promise<JobPage> {
    return this.#o.store.page(filter, first, after);
  }

  /** Resolves with the job once it has ended. */
  async wait(id: string, signal?: AbortSignal): Promise<JobRecord> {
    const job = await this.get(id);
    if (!job) throw new NotFoundError(`Job not found: ${id}`);
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

  async cancel(id: string): Promise<JobRecord> {
    const row = await this.#o.store.row(id);
    if (!row) throw new NotFoundError(`Job not found: ${id}`);
    if (terminalJobStatuses.has(row.status as never)) throw new ConflictError(`Job ${id} has already ended (${row.status})`);
    if (!row.hasProcess) {
      for (const child of await this.#o.store.list({ parentId: id })) {
        if (!terminalJobStatuses.has(child.status)) await this.cancel(child.id).catch(() => undefined);
      }
      return this.#settleRow(id, { status: 'cancelled', failureReason: null });
    }
    if (row.status === 'queued' || !row.pid) {
      const at = this.#queue.indexOf(id);
      if (at !== -1) this.#queue.splice(at, 1);
      this.#gpuWaits.get(id)?.abort(new Error('cancelled'));
      const active = this.#active.get(id);
      if (active) {
        // Between the queue and a pid: the launch sees the flag and stops.
        active.cancelled = true;
        await this.#o.store.update(id, { cancelRequestedAt: new Date() });
        return active.done;
      }
      return this.#settleRow(id, { status: 'cancelled', failureReason: null });
    }
    await this.#o.store.update(id, { cancelRequestedAt: new Date() });
    const active = this.#active.get(id);
    if (active) active.cancelled = true;
    await this.#terminateGroup(row.pid);
    return active ? active.done : this.wait(id);
  }

  /** SIGTERM to the whole group, SIGKILL after `jobs.killGraceSeconds` if anything is left. */
  async #terminateGroup(pgid: number): Promise<void> {
    if (!signalGroup(pgid, 'SIGTERM')) return;
    const deadline = Date.now() + this.#o.killGraceSeconds * 1000;
    while (Date.now() < deadline && groupAlive(pgid)) await delay(50);
    if (groupAlive(pgid)) {
      this.#o.logger.info('job ignored SIGTERM; sending SIGKILL', { pgid });
      signalGroup(pgid, 'SIGKILL');
    }
  }

  async #startJob(plugin: string, spec: JobSpec): Promise<JobRecord> {
    if (this.#stopping) throw new ConflictError('backplane is stopping; no new jobs');
    if (typeof spec.command !== 'string' || spec.command === '') throw new InputError('job command must be a non-empty string');
    if (!Array.isArray(spec.args) || spec.args.some((a) => typeof a !== 'string')) throw new InputError('job args must be strings');
    const { id, seq } = this.#nextId(spec.idPrefix);
    const logPath = path.join(this.logDir, `${id}.log`);
    await writeFile(logPath, spec.logHeader ?? '', { flag: 'wx' });
    const row: JobRow = {
      id,
      seq: String(seq),
      kind: spec.kind,
      plugin,
      status: 'queued',
      command: spec.command,
      args: [...spec.args],
      env: spec.env ?? null,
      cwd: spec.cwd ?? null,
      pid: null,
      pidStartTicks: null,
      supervisorPid: null,
      supervisorStartTicks: null,
      exitCode: null,
      signal: null,
      logPath,
      createdAt: new Date(),
      startedAt: null,
      finishedAt: null,
      cancelRequestedAt: null,
      parentId: spec.parentId ?? null,
      labels: spec.labels ?? {},
      hasProcess: true,
      longRunning: spec.longRunning === true,
      progress: null,
      progressMessage: null,
      failureReason: null,
      gpus: [],
      gpuRequest: spec.gpus ?? null,
    } as JobRow;
    const record = await this.#o.store.insert(row);
    if (spec.progress) this.#jobParsers.set(id, spec.progress);
    this.#publish(record);
    this.#enqueue(row);
    this.#pump();
    return record;
  }

  async #createGroup(plugin: string, spec: JobGroupSpec): Promise<JobRecord> {
    const { id, seq } = this.#nextId(spec.idPrefix);
    const logPath = path.join(this.logDir, `${id}.log`);
    await writeFile(logPath, '', { flag: 'wx' });
    const now = new Date();
    const record = await this.#o.store.insert({
      id,
      seq: String(seq),
      kind: spec.kind,
      plugin,
      status: 'running',
      command: spec.command,
      args: [...spec.args],
      env: null,
      cwd: null,
      pid: null,
      pidStartTicks: null,
      supervisorPid: null,
      supervisorStartTicks: null,
      exitCode: null,
      signal: null,
      logPath,
      createdAt: now,
      startedAt: now,
      finishedAt: null,
      cancelRequestedAt: null,
      parentId: spec.parentId ?? null,
      labels: spec.labels ?? {},
      hasProcess: false,
      longRunning: false,
      progress: null,
      progressMessage: null,
      failureReason: null,
      gpus: [],
      gpuRequest: null,
    } as JobRow);
    this.#publish(record);
    return record;
  }

  #enqueue(row: JobRow): void {
    // A lease granted before a restart still belongs to the job: reuse it.
    const held = this.#o.gpus.leases().some((lease) => lease.holder.kind === 'job' && lease.holder.id === row.id);
    if (row.gpuRequest && !held) {
      // GPUs first, outside the concurrency queue, so a job waiting for a card holds no slot.
      const controller = new AbortController();
      this.#gpuWaits.set(row.id, controller);
      const waiting: Promise<void> = this.#o.gpus
        .acquire({ ...row.gpuRequest, holder: { kind: 'job', id: row.id }, wait: true, signal: controller.signal })
        .then(async (lease) => {
          this.#gpuWaits.delete(row.id);
          await this.#o.store.update(row.id, { gpus: lease.indices });
          if (this.#stopping) return;
          this.#admit(row);
        })
        .catch(async (error) => {
          this.#gpuWaits.delete(row.id);
          // Aborted by cancel(): it settles the job. Aborted by a stop that keeps jobs: the job
          // stays queued for the next start.
          if (controller.signal.aborted && (!this.#stopping || this.#o.onShutdown === 'keep')) return;
          const current = await this.#o.store.row(row.id);
          if (current && current.status === 'queued') {
            await this.#settleRow(row.id, controller.signal.aborted ? { status: 'cancelled', failureReason: null } : { status: 'failed', failureReason: `no GPU lease: ${describeError(error)}` });
          }
        });
      this.#gpuSettling.add(waiting);
      void waiting.finally(() => this.#gpuSettling.delete(waiting));
      return;
    }
    this.#admit(row);
  }

  /** Into the FIFO queue; a long-running service job starts at once, outside the slots. */
  #admit(row: JobRow): void {
    if (row.longRunning) {
      void this.#launch(row.id, false).catch((error) => this.#o.logger.error('job launch failed', { job: row.id, error }));
      return;
    }
    this.#queue.push(row.id);
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopping && this.#running < this.#o.maxConcurrent && this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      this.#running++;
      void this.#launch(id, true).catch((error) => this.#o.logger.error('job launch failed', { job: id, error }));
    }
  }

  async #launch(id: string, counted: boolean): Promise<void> {
    const row = await this.#o.store.row(id);
    if (!row || row.status !== 'queued') {
      if (counted) this.#release();
      return;
    }
    let resolveDone!: (job: JobRecord) => void;
    const active: Active = { id, kind: `${row.plugin}/${row.kind}`, counted, pid: undefined, done: new Promise((r) => (resolveDone = r)), cancelled: false, abort: new AbortController() };
    this.#active.set(id, active);
    const runDir = path.join(this.#runDir, id);
    await mkdir(runDir, { recursive: true });
    const statePath = path.join(runDir, 'state.json');
    const exitPath = path.join(runDir, 'exit.json');
    const gpuEnv = row.gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: row.gpus.join(','), CUDA_DEVICE_ORDER: 'PCI_BUS_ID' } : {};
    const spec = {
      jobId: id,
      command: row.command,
      args: row.args,
      cwd: row.cwd,
      env: { ...stringEnv(process.env), ...(row.env ?? {}), ...gpuEnv },
      logPath: row.logPath,
      statePath,
      exitPath,
      socketPath: path.join(os.tmpdir(), `bp-${randomBytes(6).toString('hex')}.sock`),
      maxLogBytes: this.#o.maxLogBytes,
      headerBytes: (await stat(row.logPath)).size,
    };
    const specPath = path.join(runDir, 'spec.json');
    await writeFile(specPath, JSON.stringify(spec));
    if (active.cancelled) {
      resolveDone(await this.#settleRow(id, { status: 'cancelled', failureReason: null }));
      return;
    }
    const errFd = openSync(path.join(runDir, 'supervisor.err'), 'a');
    const supervisor = spawn(process.execPath, ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', supervisorPath, specPath], {
      detached: true,
      stdio: ['ignore', 'ignore', errFd],
    });
    closeSync(errFd);
    supervisor.unref();
    const supervisorExited = new Promise<void>((resolve) => {
      supervisor.once('exit', () => resolve());
      supervisor.once('error', () => resolve());
    });

    // The supervisor reports the child's pid through state.json (or an exit file at once when
    // the command cannot start).
    let state: { pid: number } | undefined;
    while (!state) {
      state = await readJson<{ pid: number }>(statePath);
      if (state || existsSync(exitPath)) break;
      if (supervisor.exitCode !== null || supervisor.signalCode !== null) break;
      await delay(5);
    }
    if (state) {
      active.pid = state.pid;
      const [pidTicks, supTicks] = await Promise.all([processStartTicks(state.pid), supervisor.pid ? processStartTicks(supervisor.pid) : undefined]);
      const patch: JobPatch = {
        status: 'running',
        pid: state.pid,
        pidStartTicks: pidTicks ?? null,
        supervisorPid: supervisor.pid ?? null,
        supervisorStartTicks: supTicks ?? null,
        startedAt: new Date(),
      };
      await this.#o.store.update(id, patch);
      this.#publish({ ...toRecord(row), ...patch } as JobRecord);
      if (active.cancelled) void this.#terminateGroup(state.pid);
      void this.#trackProgress(active, row, supervisorExited);
    }
    await supervisorExited;
    // With `onShutdown: keep` the job outlives this daemon; the next start settles it.
    if (this.#detached) return;
    resolveDone(await this.#settleFromExitFile(id, runDir));
  }

  /** Settles a job from its supervisor's exit file (or as lost when there is none). */
  async #settleFromExitFile(id: string, runDir: string): Promise<JobRecord> {
    const exit = await readJson<{ exitCode: number | null; signal: string | null; error?: string; finishedAt: string }>(path.join(runDir, 'exit.json'));
    const row = await this.#o.store.row(id);
    const cancelled = row?.cancelRequestedAt != null;
    let outcome: JobPatch;
    if (!exit) {
      outcome = { status: cancelled ? 'cancelled' : 'failed', failureReason: cancelled ? null : 'lost: the job supervisor ended without recording an exit status' };
    } else if (exit.error) {
      outcome = { status: 'failed', failureReason: exit.error };
    } else if (cancelled) {
      outcome = { status: 'cancelled', exitCode: exit.exitCode, signal: exit.signal, failureReason: null };
    } else if (exit.exitCode === 0) {
      outcome = { status: 'succeeded', exitCode: 0, signal: null, failureReason: null };
    } else {
      outcome = {
        status: 'failed',
        exitCode: exit.exitCode,
        signal: exit.signal,
        failureReason: exit.signal ? `killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`,
      };
    }
    if (exit?.finishedAt) outcome.finishedAt = new Date(exit.finishedAt);
    const settled = await this.#settleRow(id, outcome);
    await rm(runDir, { recursive: true, force: true });
    return settled;
  }

  async #settleRow(id: string, outcome: JobPatch): Promise<JobRecord> {
    const patch: JobPatch = { finishedAt: new Date(), ...outcome };
    await this.#o.store.update(id, patch);
    const record = (await this.#o.store.get(id))!;
    await this.#o.gpus.releaseHolder({ kind: 'job', id }).catch((error) => this.#o.logger.error('releasing GPU lease failed', { job: id, error }));
    const active = this.#active.get(id);
    this.#active.delete(id);
    this.#jobParsers.delete(id);
    if (active?.counted) this.#release();
    this.#publish(record);
    const waiters = this.#waiters.get(id);
    this.#waiters.delete(id);
    for (const resolve of waiters ?? []) resolve(record);
    this.#o.logger.info('job ended', { job: id, status: record.status, exitCode: record.exitCode, reason: record.failureReason });
    return record;
  }

  #release(): void {
    this.#running = Math.max(0, this.#running - 1);
    this.#pump();
  }

  /** Starts following a job's log for progress; `stop()` waits for every tracker. */
  #trackProgress(active: Active, row: JobRow, ended: Promise<void>): void {
    const tracker = this.#followProgress(active, row, ended);
    this.#trackers.add(tracker);
    void tracker.finally(() => this.#trackers.delete(tracker));
  }

  /**
   * Feeds new log lines to the job's own parser; writes progress at most once a second, and
   * the last reading at most a second after it arrived, even when the log goes quiet.
   */
  async #followProgress(active: Active, row: JobRow, ended: Promise<void>): Promise<void> {
    let finished = false;
    void ended.then(() => (finished = true));
    let parser: ProgressParser | undefined;
    let pending: { fraction?: number | null; message?: string | null } | undefined;
    let lastWrite = 0;
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (!pending) return writing;
      const patch: JobPatch = {};
      if (pending.fraction !== undefined) patch.progress = pending.fraction === null ? null : Math.min(1, Math.max(0, pending.fraction));
      if (pending.message !== undefined) patch.progressMessage = pending.message?.slice(0, 200) ?? null;
      pending = undefined;
      lastWrite = Date.now();
      writing = writing.then(async () => {
        await this.#o.store.update(row.id, patch);
        const current = await this.#o.store.get(row.id);
        if (current && !terminalJobStatuses.has(current.status)) this.#publish(current);
      });
      return writing;
    };
    try {
      for await (const batch of followLines(row.logPath, { from: 0, isFinished: () => finished, signal: active.abort.signal })) {
        const create = this.#jobParsers.get(row.id) ?? this.#parsers.get(active.kind);
        if (!create) continue;
        parser ??= create(toRecord(row));
        for (const line of progressLines(batch)) {
          const parsed = parser(line);
          if (parsed) pending = { ...pending, ...parsed };
        }
        if (!pending) continue;
        const wait = 1000 - (Date.now() - lastWrite);
        if (wait <= 0) await flush();
        else timer ??= setTimeout(() => void flush().catch(() => undefined), wait);
      }
      await flush();
    } catch (error) {
      clearTimeout(timer);
      this.#o.logger.warn('progress tracking stopped', { job: row.id, error: describeError(error) });
    }
  }

  async #reconcile(row: JobRow): Promise<void> {
    const runDir = path.join(this.#runDir, row.id);
    if (existsSync(path.join(runDir, 'exit.json'))) {
      await this.#settleFromExitFile(row.id, runDir);
      return;
    }
    const supervisorAlive = await isSameProcessAlive(row.supervisorPid, row.supervisorStartTicks);
    const childAlive = await isSameProcessAlive(row.pid, row.pidStartTicks);
    if (!supervisorAlive && !childAlive) {
      await this.#settleRow(row.id, { status: 'failed', failureReason: 'lost: the process ended while backplane was down and no exit status was recorded' });
      return;
    }
    // Re-adopt: the supervisor (or, failing that, the orphaned child) is watched until it ends.
    let resolveDone!: (job: JobRecord) => void;
    const active: Active = { id: row.id, kind: `${row.plugin}/${row.kind}`, counted: !row.longRunning, pid: row.pid ?? undefined, done: new Promise((r) => (resolveDone = r)), cancelled: row.cancelRequestedAt != null, abort: new AbortController() };
    this.#active.set(row.id, active);
    if (active.counted) this.#running++;
    this.#o.logger.info('re-adopted running job', { job: row.id, pid: row.pid, supervisor: supervisorAlive });
    const ended = (async () => {
      while (!active.abort.signal.aborted) {
        if (existsSync(path.join(runDir, 'exit.json'))) return;
        const alive = supervisorAlive ? await isSameProcessAlive(row.supervisorPid, row.supervisorStartTicks) : await isSameProcessAlive(row.pid, row.pidStartTicks);
        if (!alive) return;
        await delay(250);
      }
    })();
    void this.#trackProgress(active, row, ended);
    void ended.then(async () => {
      if (active.abort.signal.aborted || this.#detached) return;
      if (!supervisorAlive && !existsSync(path.join(runDir, 'exit.json'))) {
        resolveDone(await this.#settleRow(row.id, { status: row.cancelRequestedAt ? 'cancelled' : 'failed', failureReason: 'the process ended, but its supervisor was gone, so its exit status is unknown' }));
        return;
      }
      resolveDone(await this.#settleFromExitFile(row.id, runDir));
    });
  }

  /** Graceful stop: `jobs.onShutdown: stop` cancels running jobs; `keep` leaves them running. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const controller of this.#gpuWaits.values()) controller.abort(new Error('backplane stopping'));
    await Promise.allSettled([...this.#gpuSettling]);
    if (this.#o.onShutdown === 'stop') {
      await Promise.allSettled([...this.#active.keys()].map((id) => this.cancel(id)));
    }
    this.#detached = true;
    for (const active of this.#active.values()) active.abort.abort(new Error('backplane stopping'));
    // Progress writes must land before the database closes.
    await Promise.allSettled([...this.#trackers]);
  }

  #publish(record: JobRecord): void {
    this.#o.pubsub.publish(jobTopic, record);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}
