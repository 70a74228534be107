import type { JobRecord } from './job-service.ts';
import type { RunDir } from './run-dir.ts';

/** A job that has (or had) a process in this daemon's life: launched here, or re-adopted. */
export class ActiveJob {
  readonly id: string;
  /** Takes a jobs.maxConcurrent slot (not for long-running service jobs). */
  readonly counted: boolean;
  pid: number | undefined;
  cancelled = false;
  /** The launch attempt in flight (recorded on the row), until the command has started. */
  launch: { runDir: RunDir; token: string } | undefined;
  /** Aborted when the daemon stops: progress tracking and watching end. */
  readonly abort = new AbortController();
  /** Settles when the job has been recorded as ended. */
  readonly done: Promise<JobRecord>;
  readonly #resolve: (record: JobRecord) => void;

  constructor(id: string, counted: boolean, pid?: number) {
    this.id = id;
    this.counted = counted;
    this.pid = pid;
    let resolve!: (record: JobRecord) => void;
    this.done = new Promise((r) => (resolve = r));
    this.#resolve = resolve;
  }

  ended(record: JobRecord): void {
    this.#resolve(record);
  }
}
