import { InputError, NotFoundError } from '../errors.ts';
import { sortedKeys } from '../rest/go-json.ts';
import { goTextError } from '../rest/go-replies.ts';
import { formatGoRfc3339 } from '../rest/go-time.ts';
import type { RestRoute } from '../rest/route.ts';
import type { LegacyJobListQuery, LegacyJobLogQuery, LegacyJobStatusQuery } from '../../schema/generated/graphql.ts';
import type { JobStatus } from './job-service.ts';

/** The legacy API knows three words: a queued job is `running` to it, a cancelled one `failed`. */
export function legacyJobStatus(status: JobStatus | string): 'running' | 'finished' | 'failed' {
  if (status === 'succeeded') return 'finished';
  if (status === 'failed' || status === 'cancelled') return 'failed';
  return 'running';
}

/** The legacy `GET /jobs` cap: it has no paging, so it returns at most this many (the newest). */
export const legacyJobListLimit = 100_000;

export const jobOperations = new URL('./operations.graphql', import.meta.url);

type LegacyJobNode = LegacyJobListQuery['jobs']['edges'][number]['node'];

const jobNotFound = { NOT_FOUND: { status: 404, message: 'Job not found' } } as const;

/** `GET /jobs`, `GET /jobs/{job_id}/status`, `GET /jobs/{job_id}/logs` of the ilab-ui API. */
export const jobRoutes: RestRoute[] = [
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/jobs',
    operation: 'LegacyJobList',
    variables: () => ({ first: legacyJobListLimit }),
    reply(data: LegacyJobListQuery) {
      // The legacy server listed in insertion order; keep that.
      const jobs = data.jobs.edges.map(({ node }) => legacyJob(node)).reverse();
      return { json: jobs.length === 0 ? null : jobs };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/jobs/{job_id}/status',
    operation: 'LegacyJobStatus',
    variables: { id: 'params.job_id' },
    errors: { ...jobNotFound, BAD_USER_INPUT: { status: 404, message: 'Job not found' } },
    reply(data: LegacyJobStatusQuery) {
      if (!data.job) return goTextError(404, 'Job not found');
      const { id, command, status, branch } = data.job;
      return { json: sortedKeys({ job_id: id, status: legacyJobStatus(status), branch: branch ?? '', command }) };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/jobs/{job_id}/logs',
    operation: 'LegacyJobLog',
    variables: (request) => {
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(request.params.job_id)) throw new NotFoundError('Job not found');
      const lines = request.query.get('lines');
      if (lines !== null && (!/^\d{1,6}$/.test(lines) || Number(lines) > 100_000)) throw new InputError('Invalid lines parameter: expected an integer from 0 to 100000');
      return { id: request.params.job_id, tail: lines === null ? null : Number(lines), withTail: lines !== null };
    },
    errors: { NOT_FOUND: (error) => notFound(error.message === 'Job not found' ? 'Job not found' : 'Log file not found') },
    reply(data: LegacyJobLogQuery) {
      if (!data.job) return notFound('Job not found');
      if (!data.job.logExists) return notFound('Log file not found');
      // The whole log is streamed from the file, never held in memory.
      if (data.job.log == null) return { file: data.job.logPath, headers: { 'content-type': 'text/plain' } };
      return { text: data.job.log, headers: { 'content-type': 'text/plain' } };
    },
  },
];

const notFound = (message: string) => goTextError(404, message);

function legacyJob(node: LegacyJobNode) {
  // Struct order of the legacy Job type; end_time is omitted while running (omitempty).
  const job: Record<string, unknown> = {
    job_id: node.id,
    cmd: node.command,
    args: node.args,
    status: legacyJobStatus(node.status),
    pid: node.pid ?? 0,
    // The Go server's path, relative to its working directory (`logs/<id>.log`), not backplane's.
    log_file: `logs/${node.id}.log`,
    start_time: formatGoRfc3339(node.startedAt ?? node.createdAt),
  };
  if (node.finishedAt) job.end_time = formatGoRfc3339(node.finishedAt);
  job.branch = node.branch ?? '';
  job.served_model_name = node.servedModelName ?? '';
  return job;
}
