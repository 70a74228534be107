import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import {
  ConflictError,
  InputError,
  moveFile,
  NotFoundError,
  PayloadTooLargeError,
  type PluginServices,
  type ScheduledTask,
  type StagedUpload,
} from '../../core/plugin-api.ts';
import { listenForWorker, type Progress, type WorkerConnection } from '../tinker/protocol/index.ts';
import { defaultHfCache, type TrainingPluginConfig } from './config.ts';
import { dataRows, DatasetFormatError, fileTypeOf, inspectDataset, rowText } from './dataset-rows.ts';
import { availableModels, checkModel, TINY_MODEL, type ModelCheck } from './hf-cache.ts';
import type { ConfigPatch, JobCreateInput, MetadataPatch, ProjectCreateInput, WorkerControl } from './inputs.ts';
import { checkOutputDir, type OutputDirCheck } from './output-dir.ts';
import { checkTraits, hash32, mulberry32, planMix, selectionSampler } from './project-rules.ts';
import { launchWorker, removeSocketDir, shutdownWorker, socketPathFor, stopCoreJob } from './runner.ts';
import { TrainingStore } from './store.ts';
import type { Dataset, Page, Project, TrainingConfigRecord, TrainingJob, TrainingJobStatus, WorkerSlot } from './types.ts';

const terminal = new Set<TrainingJobStatus>(['completed', 'failed', 'cancelled']);
const now = () => new Date().toISOString();
const clock = () => new Date().toISOString().slice(11, 19);

/** A job whose trainer is being started or runs. */
interface ActiveRun {
  job: TrainingJob;
  slot: WorkerSlot;
  abort: AbortController;
  connection?: WorkerConnection;
  coreJobId?: string;
  /** Set by cancel (→ cancelled) or by a pool stop (→ back to the queue). */
  stopping?: 'cancel' | 'requeue';
  done: Promise<void>;
}

/** A job's progress as the `trainingJobProgress` subscription sends it. */
export interface JobProgressEvent {
  job: TrainingJob;
}

/** The worker pool status, in the seed's shape. */
export interface PoolStatus {
  total_workers: number;
  active_workers: number;
  idle_workers: number;
  busy_workers: number;
  max_workers: number;
  workers: WorkerSlot[];
  jobs_in_queue: number;
}

/**
 * The Model Training Manager, rebuilt: datasets on disk, training jobs that each run one
 * trainer process through the core job service (with a GPU lease), a pool of worker slots fed
 * by a scheduler, and projects that mix datasets by trait. No GraphQL or HTTP here.
 */
export class TrainingService {
  readonly topic = 'training:jobs';
  readonly store: TrainingStore;
  readonly config: TrainingPluginConfig;
  readonly hfCache: string;
  readonly outputRoots: string[];
  readonly startedAt = now();
  readonly #services: PluginServices<TrainingPluginConfig>;
  readonly #slots: Map<string, WorkerSlot>;
  readonly #runs = new Map<string, ActiveRun>();
  #dispatcher: ScheduledTask | undefined;
  #stopping = false;

  constructor(services: PluginServices<TrainingPluginConfig>) {
    this.#services = services;
    this.config = services.config;
    this.store = new TrainingStore(services.db, services.logger);
    this.#slots = this.store.workers;
    this.hfCache = services.config.hfCachePath ?? defaultHfCache();
    this.outputRoots = services.config.outputRoots ?? [path.join(services.dataDir, 'outputs')];
  }

  get #dir() {
    return this.#services.dataDir;
  }

  async init(): Promise<void> {
    await mkdir(path.join(this.#dir, 'datasets'), { recursive: true });
    await mkdir(path.join(this.#dir, 'jobs'), { recursive: true });
    await mkdir(path.join(this.#dir, 'models'), { recursive: true });
    if (!this.config.outputRoots) await mkdir(this.outputRoots[0], { recursive: true });
    await this.store.load();
    // The pool comes back with its slots (or, with auto_start_workers, at least max_concurrent_workers); no trainer runs on them yet.
    const config = this.trainingConfig();
    const at = now();
    for (const [id, slot] of this.#slots) {
      if (slot.status === 'stopped') this.#slots.delete(id);
      else Object.assign(slot, { status: 'idle', current_job_id: null, gpus: [], last_activity: at });
    }
    const restored = this.#slots.size;
    const size = Math.min(this.config.maxWorkers, Math.max(restored, config.auto_start_workers ? config.max_concurrent_workers : 0));
    if (size > 0) this.#addSlots(Math.max(0, size - restored));
    await this.#recover();
    this.#dispatcher = this.#services.scheduler.schedule({ id: 'dispatch', everyMs: 1000, runOnStart: true, run: () => this.#dispatch() });
    this.#services.lifecycle.onShutdown(() => this.#shutdown());
  }

  // ---- config -------------------------------------------------------------------------------

  /** The config singleton (created with the real project's defaults, `tiny-lm` as the model). */
  trainingConfig(): TrainingConfigRecord {
    if (!this.store.state.config) {
      const at = now();
      this.store.state.config = {
        id: 1,
        max_concurrent_workers: 4,
        default_model: TINY_MODEL,
        default_training_type: 'qlora',
        default_batch_size: 4,
        default_learning_rate: 2e-4,
        default_epochs: 3,
        default_lora_r: 16,
        default_lora_alpha: 32,
        default_lora_dropout: 0.05,
        auto_start_workers: false,
        created_at: at,
        updated_at: at,
      };
      void this.store.save();
    }
    return this.store.state.config;
  }

  configView(): TrainingConfigRecord & { active_workers: number } {
    return { ...this.trainingConfig(), active_workers: this.#activeSlots().length };
  }

  async patchConfig(patch: ConfigPatch): Promise<TrainingConfigRecord & { active_workers: number }> {
    const config = this.trainingConfig();
    for (const [key, value] of Object.entries(patch)) if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
    config.updated_at = now();
    await this.store.save();
    this.#kick();
    return this.configView();
  }

  // ---- models and output directories --------------------------------------------------------

  validateModel(name: string): Promise<ModelCheck> {
    return checkModel(this.hfCache, name);
  }

  availableModels(): Promise<string[]> {
    return availableModels(this.hfCache);
  }

  validateOutputDir(dir: string): Promise<OutputDirCheck> {
    return checkOutputDir(dir, this.outputRoots);
  }

  // ---- datasets -----------------------------------------------------------------------------

  /**
   * Claims a staged upload, checks its size and type, parses it (streamed) for rows and
   * columns, and moves the file under the plugin's data dir. A bad file is a 400 naming the
   * line; nothing of it is kept.
   */
  async createDataset(uploadId: string, meta: { name?: string | null; description?: string | null }): Promise<Dataset> {
    const upload = this.#services.uploads.claim(uploadId);
    let target: string | undefined;
    try {
      const file = upload.files.find((f) => f.field === 'file') ?? upload.files[0];
      if (!file) throw new InputError("No file uploaded: send the dataset in a multipart field named 'file'");
      if (upload.files.length > 1) throw new InputError('Upload exactly one file');
      if (file.bytes > this.config.maxUploadBytes) throw new PayloadTooLargeError(`File too large: ${file.bytes} bytes; the limit is ${this.config.maxUploadBytes} bytes (plugins.training.maxUploadBytes)`);
      const filename = path.basename(file.filename.replaceAll('\\', '/'));
      const type = fileTypeOf(filename);
      if (!type) throw new InputError(`Invalid file type: ${filename || '(no name)'}; expected .csv, .json or .jsonl`);
      const name = (meta.name ?? upload.fields.name ?? '').trim() || filename.replace(/\.[^.]+$/, '');
      if (name.length > 255) throw new InputError('name must be at most 255 characters');
      const description = meta.description ?? upload.fields.description ?? null;
      if (file.bytes === 0) throw new DatasetFormatError(1, 'the file is empty');
      const summary = await inspectDataset(file.path, type);
      const id = this.store.state.next.dataset++;
      target = path.join(this.#dir, 'datasets', `${id}-${randomBytes(6).toString('hex')}.${type}`);
      await moveFile(file.path, target);
      const at = now();
      const dataset: Dataset = {
        id,
        name,
        description: description === '' ? null : description,
        filename,
        file_path: target,
        file_type: type,
        file_size: file.bytes,
        row_count: summary.row_count,
        column_count: summary.columns.length,
        columns: JSON.stringify(summary.columns),
        created_at: at,
        updated_at: at,
      };
      this.store.datasets.set(id, dataset);
      await this.store.save(dataset);
      return dataset;
    } catch (error) {
      if (target) await rm(target, { force: true });
      throw error;
    } finally {
      await this.#services.uploads.discard(upload);
    }
  }

  listDatasets(page: number, pageSize: number): Page<Dataset> {
    return paginate(this.store.newestFirst<Dataset>('datasets'), page, pageSize);
  }

  dataset(id: number): Dataset {
    const d = this.store.datasets.get(id);
    if (!d) throw new NotFoundError('Dataset not found');
    return d;
  }

  async patchDataset(id: number, patch: MetadataPatch): Promise<Dataset> {
    const d = this.dataset(id);
    if (patch.name !== undefined) d.name = patch.name;
    if (patch.description !== undefined) d.description = patch.description;
    d.updated_at = now();
    await this.store.save(d);
    return d;
  }

  /** Deletes a dataset and its file; refused (400) while an unfinished job or any project uses it. */
  async deleteDataset(id: number): Promise<void> {
    const d = this.dataset(id);
    const job = [...this.store.jobs.values()].find((j) => j.dataset_id === id && !terminal.has(j.status));
    if (job) throw new InputError(`Dataset is used by training job ${job.id} (${job.status})`);
    const project = [...this.store.projects.values()].find((p) => p.traits.some((t) => t.datasets.some((x) => x.dataset_id === id)));
    if (project) throw new InputError(`Dataset is used by project ${project.id}`);
    await this.store.deleteDataset(id);
    await rm(d.file_path, { force: true });
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** Creates a job (`pending`), filling unset hyperparameters from the config; `queued` at once when the pool has workers. */
  async createJob(input: JobCreateInput, project?: Project): Promise<TrainingJob> {
    const config = this.trainingConfig();
    if (!project && !this.store.datasets.has(input.dataset_id)) throw new InputError(`Invalid dataset: dataset ${input.dataset_id} not found`);
    const model = input.model_name ?? config.default_model;
    const check = await this.validateModel(model);
    if (!check.available) throw new InputError(`Model not available: ${check.errors.join('; ')}`);
    const at = now();
    const job: TrainingJob = {
      id: `job-${this.store.state.next.job++}`,
      name: input.name,
      description: input.description ?? null,
      status: 'pending',
      training_type: input.training_type ?? config.default_training_type,
      model_name: model,
      dataset_id: project ? null : input.dataset_id,
      project_id: project?.id ?? null,
      batch_size: input.batch_size ?? config.default_batch_size,
      learning_rate: input.learning_rate ?? config.default_learning_rate,
      epochs: input.epochs ?? config.default_epochs,
      lora_r: input.lora_r ?? config.default_lora_r,
      lora_alpha: input.lora_alpha ?? config.default_lora_alpha,
      lora_dropout: input.lora_dropout ?? config.default_lora_dropout,
      progress: 0,
      current_epoch: 0,
      current_loss: null,
      error_message: null,
      log: '',
      model_path: null,
      worker_id: null,
      core_job_id: null,
      socket_path: null,
      gpus: [],
      started_at: null,
      completed_at: null,
      created_at: at,
      updated_at: at,
    };
    this.#log(job, `Job created (${job.training_type}, model ${model})`);
    if (this.#activeSlots().length > 0) this.#setStatus(job, 'queued');
    this.store.jobs.set(job.id, job);
    await this.store.save(job);
    this.#publish(job);
    this.#kick();
    return job;
  }

  listJobs(page: number, pageSize: number, status?: TrainingJobStatus): Page<TrainingJob> {
    const all = this.store.newestFirst<TrainingJob>('jobs');
    return paginate(status ? all.filter((j) => j.status === status) : all, page, pageSize);
  }

  job(id: string): TrainingJob {
    const j = this.store.jobs.get(id);
    if (!j) throw new NotFoundError('Job not found');
    return j;
  }

  /**
   * Cancels a job. A running one has its trainer's process group stopped (core cancels the
   * job, which ends its GPU lease) before it is reported `cancelled`. Ended jobs: 400.
   */
  async cancelJob(id: string): Promise<TrainingJob> {
    const job = this.job(id);
    if (terminal.has(job.status)) throw new InputError(`Job cannot be cancelled: it is ${job.status}`);
    const run = this.#runs.get(id);
    if (run) {
      run.stopping = 'cancel';
      run.abort.abort(new Error('cancelled'));
      if (run.coreJobId) await stopCoreJob(this.#services.jobs, run.coreJobId);
      run.connection?.close('cancelled');
      await run.done;
    } else {
      this.#finish(job, 'cancelled', 'Cancelled before it started');
    }
    await this.store.save(job);
    return job;
  }

  /** The last `tail` lines of the trainer process's log (the core job's log file), read from its last MiB only. */
  async workerLog(job: TrainingJob, tail: number): Promise<string | null> {
    if (!job.core_job_id) return null;
    const record = await this.#services.jobs.get(job.core_job_id);
    if (!record) return null;
    const handle = await open(record.logPath, 'r').catch(() => undefined);
    if (!handle) return '';
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 1 << 20);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n').slice(-tail - 1).join('\n');
    } finally {
      await handle.close();
    }
  }

  // ---- worker pool --------------------------------------------------------------------------

  #activeSlots(): WorkerSlot[] {
    return [...this.#slots.values()].filter((s) => s.status !== 'stopped');
  }

  poolStatus(): PoolStatus {
    const workers = [...this.#slots.values()];
    const active = this.#activeSlots();
    return {
      total_workers: workers.length,
      active_workers: active.length,
      idle_workers: active.filter((w) => w.status === 'idle').length,
      busy_workers: active.filter((w) => w.status === 'busy').length,
      max_workers: this.config.maxWorkers,
      workers,
      jobs_in_queue: [...this.store.jobs.values()].filter((j) => j.status === 'queued' || j.status === 'pending').length,
    };
  }

  /** `start N` adds N slots (at most maxWorkers in all); `stop` stops every slot, putting their jobs back in the queue; `restart` both. */
  async controlWorkers(control: WorkerControl): Promise<PoolStatus> {
    if (control.action === 'start') {
      const count = control.worker_count ?? 1;
      const active = this.#activeSlots().length;
      if (active + count > this.config.maxWorkers) throw new InputError(`Cannot start ${count} worker(s): ${active} running, at most ${this.config.maxWorkers} (plugins.training.maxWorkers)`);
      this.#addSlots(count);
    } else {
      const count = control.worker_count ?? Math.max(1, this.#activeSlots().length);
      await this.#stopSlots();
      if (control.action === 'restart') {
        if (count > this.config.maxWorkers) throw new InputError(`Cannot start ${count} worker(s): at most ${this.config.maxWorkers}`);
        this.#addSlots(count);
      }
    }
    await this.store.save();
    this.#kick();
    return this.poolStatus();
  }

  #addSlots(count: number): void {
    for (const [id, slot] of this.#slots) if (slot.status === 'stopped') this.#slots.delete(id);
    const at = now();
    for (let i = 0; i < count; i++) {
      const id = `worker-${randomBytes(4).toString('hex')}`;
      this.#slots.set(id, { id, status: 'idle', current_job_id: null, jobs_completed: 0, gpus: [], started_at: at, last_activity: at });
    }
    // Jobs that waited for a worker are now submitted to the pool.
    for (const job of this.store.jobs.values()) if (job.status === 'pending' && !job.project_id) this.#setStatus(job, 'queued');
    for (const job of this.store.jobs.values()) if (job.status === 'pending' && job.project_id) this.#setStatus(job, 'queued');
    void this.store.save();
  }

  async #stopSlots(): Promise<void> {
    const runs = [...this.#runs.values()];
    for (const run of runs) {
      run.stopping = 'requeue';
      run.abort.abort(new Error('worker stopped'));
      if (run.coreJobId) await stopCoreJob(this.#services.jobs, run.coreJobId);
      run.connection?.close('worker stopped');
    }
    await Promise.all(runs.map((r) => r.done));
    const at = now();
    for (const slot of this.#slots.values()) Object.assign(slot, { status: 'stopped', current_job_id: null, gpus: [], last_activity: at });
    for (const job of this.store.jobs.values()) if (job.status === 'queued') this.#setStatus(job, 'pending');
    await this.store.save();
  }

  #kick(): void {
    if (!this.#stopping) void this.#dispatcher?.trigger().catch(() => undefined);
  }

  /** The scheduler's run: gives queued jobs (oldest first) to idle slots, under `max_concurrent_workers`. */
  async #dispatch(): Promise<void> {
    if (this.#stopping) return;
    const limit = this.trainingConfig().max_concurrent_workers;
    const queued = [...this.store.jobs.values()].filter((j) => j.status === 'queued' && !this.#runs.has(j.id));
    for (const job of queued) {
      if (this.#runs.size >= limit) return;
      const slot = this.#activeSlots().find((s) => s.status === 'idle');
      if (!slot) return;
      this.#run(job, slot);
    }
  }

  #gpusPerJob(): number {
    if (this.config.gpusPerJob !== 'auto') return this.config.gpusPerJob;
    try {
      return this.#services.gpus.list().length > 0 ? 1 : 0;
    } catch {
      return 0;
    }
  }

  /** Runs one job on a slot: dataset → JSONL, trainer process, `train_job`, settle. */
  #run(job: TrainingJob, slot: WorkerSlot, adopt?: { coreJobId: string; socketPath: string }): void {
    const run: ActiveRun = { job, slot, abort: new AbortController(), done: Promise.resolve() };
    this.#runs.set(job.id, run);
    Object.assign(slot, { status: 'busy', current_job_id: job.id, last_activity: now() });
    job.worker_id = slot.id;
    run.done = this.#execute(run, adopt).finally(() => {
      this.#runs.delete(job.id);
      if (job.socket_path) void removeSocketDir(job.socket_path);
      if (slot.status !== 'stopped') Object.assign(slot, { status: 'idle', current_job_id: null, gpus: [], last_activity: now() });
      void this.store.save(job);
      this.#kick();
    });
  }

  async #execute(run: ActiveRun, adopt?: { coreJobId: string; socketPath: string }): Promise<void> {
    const { job, slot } = run;
    const jobs = this.#services.jobs;
    const jobDir = path.join(this.#dir, 'jobs', job.id);
    const datasetPath = path.join(jobDir, 'dataset.jsonl');
    const outputDir = this.#outputDirOf(job);
    try {
      if (!adopt) {
        await mkdir(jobDir, { recursive: true });
        this.#log(job, 'Preparing the dataset (JSONL)');
        const rows = await this.#writeJobDataset(job, datasetPath);
        this.#log(job, `Dataset ready: ${rows} rows`);
        await mkdir(outputDir, { recursive: true });
      }
      let connection: WorkerConnection;
      let coreJobId: string;
      if (adopt) {
        coreJobId = adopt.coreJobId;
        run.coreJobId = coreJobId;
        const ended = jobs.wait(coreJobId, { signal: run.abort.signal }).then(() => undefined);
        const stopWaiting = new AbortController();
        void ended.then(() => stopWaiting.abort(), () => undefined);
        run.abort.signal.addEventListener('abort', () => stopWaiting.abort(), { once: true });
        await mkdir(path.dirname(adopt.socketPath), { recursive: true, mode: 0o700 });
        connection = await listenForWorker(adopt.socketPath, { helloTimeoutMs: this.config.connectTimeoutMs, signal: stopWaiting.signal });
        const resuming = connection.hello?.in_flight?.some((r) => r.method === 'train_job');
        this.#log(job, `Re-adopted worker ${connection.hello?.worker_id} after a daemon restart; ${resuming ? 'its training goes on' : 'training restarts on it'}`);
      } else {
        const socketPath = await socketPathFor(job.id);
        job.socket_path = socketPath;
        const launched = await launchWorker({
          jobs,
          logger: this.#services.logger,
          config: this.config,
          idPrefix: 'tr',
          kind: 'train',
          workerId: slot.id,
          socketPath,
          gpus: this.#gpusPerJob(),
          labels: { training_job: job.id, worker: slot.id, ...(job.project_id ? { project: job.project_id } : {}) },
          logHeader: `[TRAINING JOB ${job.id}] ${job.training_type} ${job.model_name} (worker ${slot.id})\n`,
          reconnectMs: this.config.reconnectMs,
          signal: run.abort.signal,
          onCoreJob: async (record) => {
            run.coreJobId = record.id;
            job.core_job_id = record.id;
            await this.store.save(job);
          },
        });
        connection = launched.connection;
        coreJobId = launched.coreJob.id;
      }
      run.connection = connection;
      if (run.stopping) throw new Error('stopped');
      const hello = connection.hello!;
      if (!hello.capabilities.train_job) throw new Error(`worker ${hello.worker_id} (${hello.backend}) does not support train_job`);
      const record = await jobs.get(coreJobId);
      job.gpus = record?.gpus ?? [];
      slot.gpus = job.gpus;
      if (!job.started_at) job.started_at = now();
      this.#setStatus(job, 'running');
      this.#log(job, `Training on worker ${slot.id} (pid ${hello.pid}, ${hello.backend}${job.gpus.length ? `, GPU ${job.gpus.join(',')}` : ''})`);
      await this.store.save(job);
      this.#publish(job);
      connection.on('log', (entry) => this.#log(job, `[worker ${entry.level}] ${entry.msg}`, false));
      const onProgress = (p: Progress) => {
        job.progress = Math.min(99, p.total_steps > 0 ? Math.round((p.step / p.total_steps) * 10_000) / 100 : 0);
        if (p.epoch !== undefined) job.current_epoch = p.epoch;
        if (p.loss !== undefined && p.loss !== null) job.current_loss = p.loss;
        job.updated_at = now();
        slot.last_activity = job.updated_at;
        this.#projectMirror(job);
        void this.store.save(job);
        this.#publish(job);
      };
      // A worker that kept training through a daemon restart owes the answer to the train_job the previous daemon sent.
      const resumed = adopt ? hello.in_flight?.find((r) => r.method === 'train_job') : undefined;
      const result = resumed
        ? await connection.adopt<'train_job'>(resumed.id, { signal: run.abort.signal, onProgress })
        : await connection.request(
            'train_job',
            {
              job_id: job.id,
              spec: {
                training_type: job.training_type,
                base_model: job.model_name,
                epochs: job.epochs,
                batch_size: job.batch_size,
                learning_rate: job.learning_rate,
                lora_r: job.lora_r,
                lora_alpha: job.lora_alpha,
                lora_dropout: job.lora_dropout,
                seed: hash32(job.id) % 1_000_000,
              },
              dataset_path: datasetPath,
              output_dir: outputDir,
            },
            { signal: run.abort.signal, onProgress },
          );
      job.model_path = result.model_path;
      if (result.final_loss !== null) job.current_loss = result.final_loss;
      this.#log(job, `Training finished: ${result.steps} steps, final loss ${result.final_loss}, model at ${result.model_path}`);
      await shutdownWorker(jobs, connection, coreJobId);
      job.progress = 100;
      slot.jobs_completed++;
      this.#finish(job, 'completed');
    } catch (error) {
      const message = (error as Error).message;
      if (run.coreJobId) await stopCoreJob(jobs, run.coreJobId);
      run.connection?.close('ended');
      if (run.stopping === 'cancel') {
        this.#finish(job, 'cancelled', 'Cancelled: the trainer process was stopped');
      } else if (run.stopping === 'requeue') {
        this.#log(job, 'Worker stopped: the trainer process was stopped and the job waits for a worker again');
        Object.assign(job, { progress: 0, current_epoch: 0, current_loss: null, worker_id: null, gpus: [] });
        this.#setStatus(job, 'pending');
      } else if (this.#stopping) {
        // A daemon stop: leave it `running` for the next start to re-adopt or settle.
      } else {
        this.#finish(job, 'failed', adopt ? `interrupted: ${message}` : message);
      }
    } finally {
      this.#publish(job);
    }
  }

  #outputDirOf(job: TrainingJob): string {
    const project = job.project_id ? this.store.projects.get(job.project_id) : undefined;
    return project ? path.join(project.output_directory, project.id) : path.join(this.#dir, 'models', job.id);
  }

  /** The job's training rows as JSONL (`text` plus the row's own fields): its dataset, or its project's seeded mix. */
  async #writeJobDataset(job: TrainingJob, target: string): Promise<number> {
    const out = createWriteStream(target, { mode: 0o600 });
    let count = 0;
    const write = async (row: Record<string, unknown>) => {
      count++;
      if (!out.write(`${JSON.stringify({ ...row, text: rowText(row) })}\n`)) await once(out, 'drain');
    };
    try {
      const project = job.project_id ? this.store.projects.get(job.project_id) : undefined;
      if (project) {
        for (const p of planMix(project.traits, this.store.datasets, project.max_rows)) {
          const d = this.dataset(p.dataset_id);
          const pick = selectionSampler(p.rows, d.row_count, mulberry32(this.config.mixSeed ^ hash32(`${project.id}:${d.id}`)));
          let index = 0;
          for await (const row of dataRows(d.file_path, d.file_type)) if (pick(index++)) await write({ ...row, trait: p.trait_type });
        }
      } else {
        const d = this.dataset(job.dataset_id!);
        for await (const row of dataRows(d.file_path, d.file_type)) await write(row);
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    return count;
  }

  #setStatus(job: TrainingJob, status: TrainingJobStatus): void {
    job.status = status;
    job.updated_at = now();
    this.#projectMirror(job);
  }

  #finish(job: TrainingJob, status: 'completed' | 'failed' | 'cancelled', message?: string): void {
    if (status !== 'completed') job.error_message = message ?? null;
    if (message) this.#log(job, message);
    else this.#log(job, `Job ${status}`);
    job.completed_at = now();
    this.#setStatus(job, status);
    void this.store.save(job);
    this.#publish(job);
  }

  /** A project shows the state of its latest job. */
  #projectMirror(job: TrainingJob): void {
    if (!job.project_id) return;
    const project = this.store.projects.get(job.project_id);
    if (!project || project.job_id !== job.id) return;
    project.status = job.status === 'queued' ? 'pending' : job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled' || job.status === 'running' ? job.status : 'pending';
    Object.assign(project, {
      progress: job.progress,
      current_epoch: job.current_epoch,
      current_loss: job.current_loss,
      error_message: job.error_message,
      model_path: job.model_path,
      worker_id: job.worker_id,
      started_at: job.started_at,
      completed_at: job.completed_at,
      updated_at: job.updated_at,
    });
    void this.store.save(project);
  }

  /** Appends `[HH:MM:SS] msg` to the job's log (kept to its last 500 lines). */
  #log(job: TrainingJob, message: string, info = true): void {
    const lines = `${job.log}[${clock()}] ${message}\n`.split('\n');
    job.log = lines.length > 501 ? lines.slice(-501).join('\n') : lines.join('\n');
    if (info) this.#services.logger.info('training job', { job: job.id, msg: message });
  }

  #publish(job: TrainingJob): void {
    this.#services.pubsub.publish('jobs', { job } satisfies JobProgressEvent);
  }

  /** After a restart: a running job whose trainer process still runs is re-adopted; one whose process is gone fails "interrupted". */
  async #recover(): Promise<void> {
    for (const job of this.store.jobs.values()) {
      if (job.status !== 'running' && job.status !== 'queued') continue;
      const core = job.core_job_id ? await this.#services.jobs.get(job.core_job_id) : undefined;
      const alive = core && (core.status === 'running' || core.status === 'queued');
      if (!job.core_job_id) {
        if (job.status === 'running') this.#finish(job, 'failed', 'interrupted: the daemon stopped before the trainer started');
        else if (this.#activeSlots().length === 0) this.#setStatus(job, 'pending');
        continue;
      }
      if (alive && job.socket_path) {
        const slotId = job.worker_id ?? `worker-${randomBytes(4).toString('hex')}`;
        const at = now();
        const slot: WorkerSlot = this.#slots.get(slotId) ??
          this.#activeSlots().find((s) => s.status === 'idle') ?? { id: slotId, status: 'busy', current_job_id: job.id, jobs_completed: 0, gpus: core.gpus, started_at: at, last_activity: at };
        this.#slots.set(slot.id, slot);
        this.#run(job, slot, { coreJobId: job.core_job_id, socketPath: job.socket_path });
      } else {
        this.#finish(job, 'failed', `interrupted: the daemon restarted while the job ran, and its trainer process ${core ? `ended (${core.failureReason ?? core.status})` : 'is gone'}`);
        if (job.socket_path) await removeSocketDir(job.socket_path);
      }
    }
    await this.store.save();
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    this.#dispatcher?.stop();
    for (const run of this.#runs.values()) {
      run.abort.abort(new Error('daemon stopping'));
      run.connection?.close('daemon stopping');
    }
    await Promise.allSettled([...this.#runs.values()].map((r) => r.done));
    await this.store.flush();
  }

  // ---- projects -----------------------------------------------------------------------------

  async createProject(input: ProjectCreateInput): Promise<Project> {
    checkTraits(input.traits, (id) => this.store.datasets.has(id));
    const dir = await this.validateOutputDir(input.output_directory);
    if (!dir.valid) throw new InputError(dir.errors.join('; '));
    const at = now();
    const project: Project = {
      id: `project-${this.store.state.next.project++}`,
      name: input.name,
      description: input.description ?? null,
      base_model: input.base_model,
      model_type: input.model_type ?? null,
      training_type: input.training_type,
      max_rows: input.max_rows ?? null,
      output_directory: input.output_directory,
      status: 'pending',
      progress: 0,
      current_epoch: 0,
      current_loss: null,
      error_message: null,
      model_path: null,
      worker_id: null,
      job_id: null,
      traits: input.traits.map((t) => ({ id: this.store.state.next.trait++, trait_type: t.trait_type, datasets: t.datasets.map((d) => ({ ...d })) })),
      started_at: null,
      completed_at: null,
      created_at: at,
      updated_at: at,
    };
    this.store.projects.set(project.id, project);
    await this.store.save(project);
    return project;
  }

  listProjects(page: number, pageSize: number): Page<Project> {
    return paginate(this.store.newestFirst<Project>('projects'), page, pageSize);
  }

  project(id: string): Project {
    const p = this.store.projects.get(id);
    if (!p) throw new NotFoundError('Project not found');
    return p;
  }

  async patchProject(id: string, patch: MetadataPatch): Promise<Project> {
    const p = this.project(id);
    if (patch.name !== undefined) p.name = patch.name;
    if (patch.description !== undefined) p.description = patch.description;
    p.updated_at = now();
    await this.store.save(p);
    return p;
  }

  /** Validates the base model and output directory, then queues a training job over the project's mix; the project is `pending`. */
  async startProject(id: string): Promise<Project> {
    const project = this.project(id);
    const current = project.job_id ? this.store.jobs.get(project.job_id) : undefined;
    if (current && !terminal.has(current.status)) throw new InputError(`Project is already ${project.status} (job ${current.id})`);
    const model = await this.validateModel(project.base_model);
    if (!model.available) throw new InputError(`Model not available: ${model.errors.join('; ')}`);
    const dir = await this.validateOutputDir(project.output_directory);
    if (!dir.valid) throw new InputError(dir.errors.join('; '));
    for (const t of project.traits) for (const d of t.datasets) if (!this.store.datasets.has(d.dataset_id)) throw new InputError(`Dataset ${d.dataset_id} no longer exists`);
    const job = await this.createJob({ name: `project ${project.name}`, description: `Training of ${project.id}`, dataset_id: 1, training_type: project.training_type, model_name: project.base_model }, project);
    project.job_id = job.id;
    Object.assign(project, { error_message: null, model_path: null, progress: 0, completed_at: null });
    this.#projectMirror(job);
    project.status = 'pending';
    await this.store.save(project);
    return project;
  }

  /** Checks the trained output's files, then loads it in a worker (`validate_output`). */
  async validateProject(id: string): Promise<ProjectValidation> {
    const project = this.project(id);
    const errors: string[] = [];
    if (project.status !== 'completed' || !project.model_path) {
      return { valid: false, files: { valid: false, files_checked: [], errors: [`Project has no trained model (status ${project.status})`] }, loading: { valid: false, errors: ['not attempted'] }, errors: ['Training has not completed'] };
    }
    const files = await this.#checkFiles(project.model_path);
    const loading = files.valid ? await this.#loadInWorker(project.model_path, project.id) : { valid: false, errors: ['not attempted: the file check failed'] };
    errors.push(...files.errors, ...loading.errors);
    return { valid: files.valid && loading.valid, files, loading, errors };
  }

  async #checkFiles(modelPath: string): Promise<ProjectValidation['files']> {
    const info = await stat(modelPath).catch(() => undefined);
    if (!info) return { valid: false, files_checked: [], errors: [`Model path does not exist: ${modelPath}`] };
    const dir = info.isDirectory() ? modelPath : path.dirname(modelPath);
    const names = await readdir(dir).catch(() => [] as string[]);
    // A Hugging Face output has config.json (or adapter_config.json for a LoRA); the bwp/1 workers write training_config.json.
    const configs: string[] = names.filter((n) => n === 'config.json' || n === 'adapter_config.json' || n === 'training_config.json');
    const weights = names.filter((n) => /\.(bwpt|safetensors|bin|pt)$/.test(n) || n === 'index.json');
    const errs = [...(configs.length === 0 ? ['no config file (config.json, adapter_config.json or training_config.json)'] : []), ...(weights.length === 0 ? ['no weight file (.bwpt, .safetensors, .bin) or RAG index.json'] : [])];
    return { valid: errs.length === 0, files_checked: names.filter((n) => configs.includes(n) || n.startsWith('tokenizer') || weights.includes(n)).sort(), errors: errs };
  }

  async #loadInWorker(modelPath: string, label: string): Promise<{ valid: boolean; errors: string[]; model_name?: string | null; parameters?: number | null; sample_text?: string }> {
    const jobs = this.#services.jobs;
    const abort = new AbortController();
    let coreJobId: string | undefined;
    const socketPath = await socketPathFor(label);
    try {
      const { connection, coreJob } = await launchWorker({
        jobs,
        logger: this.#services.logger,
        config: this.config,
        idPrefix: 'tv',
        kind: 'validate',
        workerId: `validator-${randomBytes(4).toString('hex')}`,
        socketPath,
        gpus: this.#gpusPerJob(),
        labels: { validates: label },
        logHeader: `[TRAINING VALIDATE ${label}] ${modelPath}\n`,
        signal: abort.signal,
        onCoreJob: (r) => void (coreJobId = r.id),
      });
      coreJobId = coreJob.id;
      try {
        const result = await connection.request('validate_output', { path: modelPath }, { timeoutMs: 120_000 });
        return { valid: result.ok, errors: result.ok ? [] : (result.errors ?? ['the worker could not load the model']), model_name: result.model_name, parameters: result.parameters, sample_text: result.sample_text };
      } finally {
        await shutdownWorker(jobs, connection, coreJob.id);
      }
    } catch (error) {
      if (coreJobId) await stopCoreJob(jobs, coreJobId);
      return { valid: false, errors: [`loading failed: ${(error as Error).message}`] };
    } finally {
      await removeSocketDir(socketPath);
    }
  }
}

export interface ProjectValidation {
  valid: boolean;
  files: { valid: boolean; files_checked: string[]; errors: string[] };
  loading: { valid: boolean; errors: string[]; model_name?: string | null; parameters?: number | null; sample_text?: string };
  errors: string[];
}

function paginate<T>(all: T[], page: number, pageSize: number): Page<T> {
  const total = all.length;
  return { items: all.slice((page - 1) * pageSize, page * pageSize), total, page, page_size: pageSize, pages: Math.ceil(total / pageSize) };
}

export type { StagedUpload };
