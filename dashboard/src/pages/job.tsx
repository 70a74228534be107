import { useMutation, useQuery, useSubscription } from '@urql/preact';
import { useMemo, useState } from 'preact/hooks';
import { DashboardCancelJobDocument, DashboardJobDocument, DashboardJobUpdatedDocument, type DashboardJobDetailFragment } from '../../../schema/generated/graphql.ts';
import { Chart } from '../components/chart.tsx';
import { ErrorNote, ProgressBar, Section, Status } from '../components/common.tsx';
import { LogView } from '../components/log-view.tsx';
import { formatBytes, formatDuration, formatTime } from '../format.ts';
import { jobHref } from '../router.ts';

const progressSeries = [{ label: 'progress %', stroke: '#1f6feb' }];
const ended = new Set(['succeeded', 'failed', 'cancelled']);
const maxPoints = 5000;

interface Timed {
  job: DashboardJobDetailFragment;
  at: number;
}

export function JobPage({ id, canOperate }: { id: string; canOperate: boolean }) {
  const [{ data, error }] = useQuery({ query: DashboardJobDocument, variables: { id } });
  // Each update with the time it arrived: the plot's x (the API keeps no progress history).
  const [updates] = useSubscription({ query: DashboardJobUpdatedDocument, variables: { id } }, (previous: Timed[] = [], event) => [...previous.slice(-(maxPoints - 1)), { job: event.jobUpdated, at: Date.now() / 1000 }]);
  const [loadedAt] = useState(() => Date.now() / 1000);
  const [cancelState, cancel] = useMutation(DashboardCancelJobDocument);
  const [confirming, setConfirming] = useState(false);
  const job = updates.data?.at(-1)?.job ?? data?.job;
  // Progress over time: where the job started, then every update seen while the page is open.
  const plot = useMemo(() => {
    const points: [number, number][] = [];
    const first = data?.job ?? updates.data?.[0]?.job;
    if (first?.startedAt) points.push([Date.parse(first.startedAt) / 1000, 0]);
    const seen: Timed[] = [...(data?.job ? [{ job: data.job, at: loadedAt }] : []), ...(updates.data ?? [])];
    for (const { job: j, at } of seen) {
      if (j.progress === null) continue;
      points.push([Math.max(at, points.at(-1)?.[0] ?? 0), j.progress * 100]);
    }
    return [points.map((p) => p[0]), points.map((p) => p[1])] as [number[], number[]];
  }, [data, updates.data]);

  if (!job) {
    return (
      <>
        <h1>Job {id}</h1>
        <ErrorNote error={error} what="Job" />
        {data && !data.job ? <p>No such job.</p> : null}
      </>
    );
  }
  const canCancel = canOperate && !ended.has(job.status);
  return (
    <>
      <p>
        <a href="#/jobs">← Jobs</a>
      </p>
      <h1>
        Job {job.id} <Status value={job.status} />
      </h1>
      <Section title="Details" id="job-details">
        <dl class="facts wide">
          <div>
            <dt>Plugin · kind</dt>
            <dd>
              {job.plugin} · {job.kind}
            </dd>
          </div>
          <div>
            <dt>Progress</dt>
            <dd>
              <ProgressBar value={job.progress} label="Job progress" />
              {job.progressMessage ? <div class="muted small">{job.progressMessage}</div> : null}
            </dd>
          </div>
          <div>
            <dt>Started · duration</dt>
            <dd>
              {formatTime(job.startedAt)} · {formatDuration(job.startedAt, job.finishedAt)}
            </dd>
          </div>
          <div>
            <dt>GPUs</dt>
            <dd>{job.gpus.length > 0 ? job.gpus.join(', ') : '–'}</dd>
          </div>
          <div>
            <dt>Command</dt>
            <dd class="path">{[job.command, ...job.args].join(' ')}</dd>
          </div>
          <div>
            <dt>Log size</dt>
            <dd>{formatBytes(job.logSize)}</dd>
          </div>
          {job.exitCode !== null || job.signal ? (
            <div>
              <dt>Exit</dt>
              <dd>{job.signal ?? job.exitCode}</dd>
            </div>
          ) : null}
          {job.failureReason ? (
            <div>
              <dt>Failure</dt>
              <dd>{job.failureReason}</dd>
            </div>
          ) : null}
          {data?.job?.parentId ? (
            <div>
              <dt>Part of</dt>
              <dd>
                <a href={jobHref(data.job.parentId)}>{data.job.parentId}</a>
              </dd>
            </div>
          ) : null}
        </dl>
        {data?.job && data.job.children.length > 0 ? (
          <ul>
            {data.job.children.map((c) => (
              <li key={c.id}>
                <a href={jobHref(c.id)}>{c.id}</a> {c.kind} <Status value={c.status} />
              </li>
            ))}
          </ul>
        ) : null}
        {canCancel ? (
          confirming ? (
            <p role="group" aria-label="Confirm cancel">
              Cancel {job.id}? It gets SIGTERM, then SIGKILL.{' '}
              <button
                type="button"
                class="danger"
                onClick={async () => {
                  await cancel({ id: job.id });
                  setConfirming(false);
                }}
              >
                Yes, cancel the job
              </button>{' '}
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it running
              </button>
            </p>
          ) : (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              Cancel job
            </button>
          )
        ) : null}
        <ErrorNote error={cancelState.error} what="Cancel" />
      </Section>
      {plot[0].length > 1 ? (
        <Section title="Progress over time" id="job-progress">
          <Chart height={160} data={plot} series={progressSeries} yRange={[0, 100]} yLabel="%" summary={`Progress of ${job.id} over time, now ${Math.round((job.progress ?? 0) * 100)} %`} />
        </Section>
      ) : null}
      <Section title="Log" id="job-log">
        <LogView jobId={job.id} label={`Log of ${job.id}`} />
      </Section>
    </>
  );
}
