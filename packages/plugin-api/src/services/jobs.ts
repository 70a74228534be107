/** Where a job is in its life. `queued` waits for GPUs or for a slot under `jobs.maxConcurrent`. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Progress as a plugin's parser reads it from the log. */
export interface JobProgress {
  /** 0–1, or null when unknown. */
  fraction: number | null;
  /** A short human message (`epoch 2/10`). */
  message: string | null;
}

/**
 * Reads one log line (ANSI colours and `\r` progress-bar frames already split into lines)
 * and returns progress, or undefined when the line says nothing about it.
 */
export type ProgressParser = (line: string) => Partial<JobProgress> | undefined;

/**
 * Makes the parser for one job (so it may keep state across lines, such as the epoch it is in);
 * it gets the job, whose `args` tell what to expect (`--num-epochs=3`).
 */
export type ProgressParserFactory = (job: JobRecord) => ProgressParser;

/** What a plugin asks the job service to run. */
export interface JobSpec {
  /** Id prefix without the dash (`g`, `t`, `p`, `ml`, `v`, `c`); the id is `<prefix>-<unix ns>`. */
  idPrefix: string;
  /** The plugin's name for this kind of work (`data-generate`, `train`). */
  kind: string;
  /** Executable (absolute path or a name on PATH). Never run through a shell. */
  command: string;
  args: readonly string[];
  cwd?: string;
  /** Added to the daemon's environment. */
  env?: Record<string, string>;
  /** Free-form facts: `branch`, `served_model_name`, `mode: mock`. */
  labels?: Record<string, string>;
  /** The group job (pipeline) this job belongs to. */
  parentId?: string;
  /** Text written at the top of the log before the command's output (ends with a newline). */
  logHeader?: string;
  /**
   * GPUs to lease before the job starts; the lease sets `CUDA_VISIBLE_DEVICES` and is released
   * when the job ends. The job stays `queued` until the GPUs are free.
   */
  gpus?: { count?: number; indices?: number[] };
  /** Makes this job's progress parser. Also register one per kind for jobs re-adopted after a restart. */
  progress?: ProgressParserFactory;
  /**
   * A service (a model server) rather than a batch job: it runs until stopped, so it does not take
   * one of the `jobs.maxConcurrent` slots that training and generation queue for.
   */
  longRunning?: boolean;
}

/** A group job: no process of its own; the plugin settles it. */
export interface JobGroupSpec {
  idPrefix: string;
  kind: string;
  /** Recorded as the job's command (`pipeline-generate-train`). */
  command: string;
  args: readonly string[];
  labels?: Record<string, string>;
  parentId?: string;
}

/** A job as stored. Times are absent until they happen. */
export interface JobRecord {
  id: string;
  kind: string;
  plugin: string;
  status: JobStatus;
  command: string;
  args: string[];
  cwd: string | null;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  logPath: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  parentId: string | null;
  labels: Record<string, string>;
  progress: number | null;
  progressMessage: string | null;
  failureReason: string | null;
  /** GPU indices the job holds (or held). */
  gpus: number[];
}

export interface JobListFilter {
  status?: JobStatus;
  plugin?: string;
  kind?: string;
  parentId?: string;
}

/**
 * Runs long external processes as jobs: a database row before the process starts, output into a
 * log file, a queue under `jobs.maxConcurrent` that lets jobs that fit pass one waiting for GPUs
 * (backfill, see docs/jobs.md), cancel of the whole process group, progress
 * from log lines, and survival of daemon restarts (jobs are re-adopted or settled, never left
 * `running`). Plugin-scoped: jobs are recorded with the calling plugin's id, and `get`,
 * `cancel`, `wait`, `appendLog`, `settle` and `list` see only the plugin's own jobs (another
 * plugin's job id is `NOT_FOUND`, and `get` returns undefined for it).
 */
export interface JobService {
  /** Records the job, then starts it (or queues it). Resolves once the row exists. */
  start(spec: JobSpec): Promise<JobRecord>;
  /** Records a running group job (a pipeline) that the plugin settles itself. */
  createGroup(spec: JobGroupSpec): Promise<JobRecord>;
  /** Appends text to a job's log (group jobs write their own narrative this way). */
  appendLog(id: string, text: string): Promise<void>;
  /** Ends a group job. */
  settle(id: string, outcome: { status: 'succeeded' | 'failed' | 'cancelled'; reason?: string }): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Throws NOT_FOUND for an unknown id and CONFLICT for a job that already ended. */
  cancel(id: string): Promise<JobRecord>;
  /** Resolves with the settled job. */
  wait(id: string, options?: { signal?: AbortSignal }): Promise<JobRecord>;
  /** Makes parsers for this kind of job: used for jobs re-adopted after a restart and jobs started without one. */
  registerProgressParser(kind: string, create: ProgressParserFactory): void;
  /**
   * Resumes group jobs of this kind after a restart (a pipeline waiting on its children).
   * Without a resumer, a group job found running at start is settled as failed.
   */
  registerGroupResumer(kind: string, resume: (job: JobRecord) => Promise<void> | void): void;
  list(filter?: JobListFilter): Promise<JobRecord[]>;
}
