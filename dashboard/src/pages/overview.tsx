import { useQuery, useSubscription } from '@urql/preact';
import { useMemo } from 'preact/hooks';
import {
  DashboardGpusDocument,
  DashboardGpuStatsDocument,
  DashboardJobsDocument,
  type DashboardGpuStatsSubscription,
  type DashboardPluginFragment,
} from '../../../schema/generated/graphql.ts';
import { ErrorNote, ProgressBar, Section, Status } from '../components/common.tsx';
import { GpuCard, pointOf, type GpuPoint } from '../components/gpu-card.tsx';
import { formatDuration } from '../format.ts';
import { jobHref } from '../router.ts';
import { serverPanels } from '../servers/registry.tsx';
import { useLiveJobs } from './use-live-jobs.ts';

const historyLength = 60;

export function Overview({ plugins, canOperate }: { plugins: readonly DashboardPluginFragment[]; canOperate: boolean }) {
  const enabled = new Set(plugins.map((p) => p.id));
  return (
    <>
      <h1>Overview</h1>
      <Section title="Plugins" id="plugins-heading">
        <ul class="plugins">
          {plugins.map((p) => (
            <li key={p.id}>
              <strong>{p.id}</strong> <span class="muted">{p.version}</span> <Status value={p.status} />
              {p.message ? <span class="muted small"> {p.message}</span> : null}
            </li>
          ))}
        </ul>
      </Section>
      {enabled.has('nvidia-smi') ? <Gpus /> : null}
      <RunningJobs />
      <Section title="Servers" id="servers-heading">
        {serverPanels.filter((s) => enabled.has(s.plugin)).length === 0 ? <p class="muted">No server plugin is enabled.</p> : null}
        {serverPanels
          .filter((s) => enabled.has(s.plugin))
          .map(({ plugin, title, Panel }) => (
            <div key={plugin} class="server-group">
              <h3>{title}</h3>
              <Panel compact canOperate={canOperate} />
            </div>
          ))}
      </Section>
    </>
  );
}

function Gpus() {
  const [{ data, error }] = useQuery({ query: DashboardGpusDocument });
  const [live] = useSubscription({ query: DashboardGpuStatsDocument }, (previous: DashboardGpuStatsSubscription[] = [], event) => [...previous.slice(-(historyLength - 1)), event]);
  const gpus = live.data?.at(-1)?.gpuStats.gpus ?? data?.gpus ?? [];
  const points = useMemo(() => {
    const byIndex = new Map<number, GpuPoint[]>();
    for (const gpu of data?.gpus ?? []) byIndex.set(gpu.index, gpu.history.map((s) => pointOf(gpu, s)));
    for (const event of live.data ?? []) {
      for (const gpu of event.gpuStats.gpus) {
        const list = byIndex.get(gpu.index) ?? [];
        const point = pointOf(gpu, gpu);
        if (list.at(-1)?.t !== point.t) list.push(point);
        byIndex.set(gpu.index, list.slice(-historyLength));
      }
    }
    return byIndex;
  }, [data, live.data]);
  return (
    <Section title="GPUs" id="gpus-heading">
      <ErrorNote error={error} what="GPUs" />
      {gpus.length === 0 && !error ? <p class="muted">No GPUs.</p> : null}
      <div class="gpus">
        {gpus.map((gpu) => (
          <GpuCard key={gpu.index} gpu={gpu} points={points.get(gpu.index) ?? []} />
        ))}
      </div>
    </Section>
  );
}

function RunningJobs() {
  const [{ data, error }] = useQuery({ query: DashboardJobsDocument, variables: { status: 'running', first: 100 } });
  const jobs = useLiveJobs(data?.jobs.edges.map((e) => e.node), (job) => job.status === 'running');
  return (
    <Section title="Running jobs" id="running-heading">
      <ErrorNote error={error} what="Jobs" />
      {jobs.length === 0 ? <p class="muted">No job is running.</p> : null}
      <ul class="running">
        {jobs.map((job) => (
          <li key={job.id}>
            <a href={jobHref(job.id)}>{job.id}</a> <span class="muted">
              {job.plugin} · {job.kind} · {formatDuration(job.startedAt)}
            </span>
            <ProgressBar value={job.progress} label={`Progress of ${job.id}`} />
            {job.progressMessage ? <span class="muted small"> {job.progressMessage}</span> : null}
          </li>
        ))}
      </ul>
    </Section>
  );
}
