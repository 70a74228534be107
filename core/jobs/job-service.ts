import type { JobStatus } from '../../packages/plugin-api/src/services/jobs.ts';

/** The plugin-facing job types live in the plugin contract (`@backplane/plugin-api`). */
export type {
  JobStatus,
  JobProgress,
  ProgressParser,
  ProgressParserFactory,
  JobSpec,
  JobGroupSpec,
  JobRecord,
  JobListFilter,
  JobService,
} from '../../packages/plugin-api/src/services/jobs.ts';

export const terminalJobStatuses: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
