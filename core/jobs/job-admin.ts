import type { JobListFilter, JobRecord } from './job-service.ts';
import type { JobField, JobPage } from './job-store.ts';

/**
 * Daemon-wide job powers, for core's own resolvers only (`job`, `jobs`, `cancelJob`,
 * `jobUpdated`, `jobLog`): they act on every plugin's jobs, for a caller whose API key scope was
 * already checked. Plugins never get this; their `JobService` sees only their own jobs.
 */
export interface JobAdmin {
  get(id: string): Promise<JobRecord | undefined>;
  list(filter?: JobListFilter): Promise<JobRecord[]>;
  /** Newest first, `first` at a time, after the cursor of a previous page; with `fields`, partial records (see JobStore.page). */
  page(filter: JobListFilter, first: number, after: string | undefined, fields?: readonly JobField[]): Promise<JobPage>;
  /** NOT_FOUND for an unknown id, CONFLICT for a job that already ended. */
  cancel(id: string): Promise<JobRecord>;
  /** What a queued job waits for (GPUs, a slot), or null when it is not waiting. */
  waitingFor(id: string): string | null;
}
