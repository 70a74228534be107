import { useQuery } from '@urql/preact';
import { useCallback, useState } from 'preact/hooks';
import { DashboardJobsDocument, type DashboardJobRowFragment, type JobStatus } from '../../../schema/generated/graphql.ts';
import { ErrorNote, ProgressBar, Status } from '../components/common.tsx';
import { formatDuration, formatTime } from '../format.ts';
import { jobHref } from '../router.ts';
import { useLiveJobs } from './use-live-jobs.ts';

const statuses: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const pageSize = 100;

/** Filters live in the URL (`#/jobs?status=running&plugin=ilab`), so a filtered list can be shared. */
export function Jobs({ query, plugins }: { query: URLSearchParams; plugins: readonly string[] }) {
  const status = statuses.find((s) => s === query.get('status')) ?? null;
  const plugin = query.get('plugin') || null;
  const kind = query.get('kind') || null;
  const [kindDraft, setKindDraft] = useState(kind ?? '');
  const [pages, setPages] = useState(1);
  const [{ data, error, fetching }] = useQuery({ query: DashboardJobsDocument, variables: { status, plugin, kind, first: pageSize * pages } });
  const matches = useCallback((job: DashboardJobRowFragment) => (!status || job.status === status) && (!plugin || job.plugin === plugin) && (!kind || job.kind === kind), [status, plugin, kind]);
  const jobs = useLiveJobs(data?.jobs.edges.map((e) => e.node), matches);

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    location.hash = `#/jobs${next.size > 0 ? `?${next}` : ''}`;
  };

  return (
    <>
      <h1>Jobs</h1>
      <form
        class="filters"
        aria-label="Filter jobs"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter('kind', kindDraft.trim());
        }}
      >
        <label>
          Status
          <select value={status ?? ''} onChange={(e) => setFilter('status', (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Plugin
          <select value={plugin ?? ''} onChange={(e) => setFilter('plugin', (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {plugins.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <input value={kindDraft} onInput={(e) => setKindDraft((e.target as HTMLInputElement).value)} placeholder="e.g. train" />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error} what="Jobs" />
      <div class="table-wrap">
        <table class="jobs">
          <caption class="visually-hidden">Jobs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Plugin · kind</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id}>
                <th scope="row">
                  <a href={jobHref(job.id)}>{job.id}</a>
                </th>
                <td>
                  <Status value={job.status} />
                  {job.waitingFor ? <div class="muted small">{job.waitingFor}</div> : null}
                </td>
                <td>
                  {job.plugin} · {job.kind}
                </td>
                <td>{job.progress !== null ? <ProgressBar value={job.progress} label={`Progress of ${job.id}`} /> : '–'}</td>
                <td>{formatTime(job.createdAt)}</td>
                <td>{formatDuration(job.startedAt, job.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {jobs.length === 0 && !fetching ? <p class="muted">No jobs match.</p> : null}
      {data?.jobs.pageInfo.hasNextPage ? (
        <button type="button" onClick={() => setPages(pages + 1)}>
          Show {pageSize} more
        </button>
      ) : null}
    </>
  );
}
