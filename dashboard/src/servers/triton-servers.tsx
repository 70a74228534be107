import { useMutation, useQuery, useSubscription } from '@urql/preact';
import { useEffect, useState } from 'preact/hooks';
import {
  DashboardLoadTritonModelDocument,
  DashboardTritonMetricsDocument,
  DashboardTritonServerHealthDocument,
  DashboardTritonServersDocument,
  DashboardUnloadTritonModelDocument,
  type DashboardTritonServerFragment,
} from '../../../schema/generated/graphql.ts';
import { ErrorNote, ProgressBar, Status } from '../components/common.tsx';
import { formatBytes, formatTime } from '../format.ts';
import type { ServerPanelProps } from './registry.tsx';
import { runMutation } from './server-table.tsx';
import { isBusy, isReady, useTritonModels, type TritonVersions } from './triton-models.ts';
import { keepLatest, useLiveList } from './use-live-list.ts';

const key = (s: DashboardTritonServerFragment) => s.id;
/** Metrics are scraped when asked: the panel asks again this often. */
const metricsEveryMs = 5000;

/** Triton servers: health (live over tritonServerHealthChanged), GPU metrics, models with version states and load/unload. */
export function TritonServers({ canOperate, compact }: ServerPanelProps) {
  const [{ data, error }] = useQuery({ query: DashboardTritonServersDocument });
  const [updates] = useSubscription({ query: DashboardTritonServerHealthDocument }, (previous: DashboardTritonServerFragment[] | undefined, event) => keepLatest(key)(previous, event.tritonServerHealthChanged));
  const servers = useLiveList(data?.tritonServers, updates.data ?? [], key);
  const fleet = useTritonModels();
  if (error) return <ErrorNote error={error} what="Triton servers" />;
  if (servers.length === 0) return data ? <p class="muted">No Triton servers registered.</p> : null;
  if (compact) {
    return (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Health</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Models</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => {
              const models = [...(fleet.models.get(s.id)?.values() ?? [])];
              return (
                <tr key={s.id}>
                  <th scope="row">{s.id}</th>
                  <td>
                    <Status value={s.health.state} />
                  </td>
                  <td class="path">{s.baseUrl}</td>
                  <td>
                    {models.filter(isReady).length} of {models.length || s.cachedModels.length} ready
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <div class="tritons">
      <ErrorNote error={fleet.error} what="Triton models" />
      {servers.map((s) => (
        <TritonServerCard key={s.id} server={s} models={fleet.models.get(s.id)} indexError={fleet.errors.get(s.id)} canOperate={canOperate} onChanged={fleet.refresh} />
      ))}
    </div>
  );
}

function TritonServerCard({ server, models, indexError, canOperate, onChanged }: { server: DashboardTritonServerFragment; models: Map<string, TritonVersions> | undefined; indexError: string | undefined; canOperate: boolean; onChanged(): void }) {
  const [, load] = useMutation(DashboardLoadTritonModelDocument);
  const [, unload] = useMutation(DashboardUnloadTritonModelDocument);
  const [busy, setBusy] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const { health } = server;
  const headingId = `triton-${server.id}`;
  const rows = [...(models ?? new Map<string, TritonVersions>())].sort(([a], [b]) => a.localeCompare(b));
  const act = async (label: string, name: string, run: () => Promise<void>) => {
    setBusy(`${label} ${name}`);
    setProblem(undefined);
    try {
      await run();
    } catch (error) {
      setProblem(`${label} ${name} on ${server.id}: ${(error as Error).message}`);
    } finally {
      setBusy(undefined);
      onChanged();
    }
  };
  return (
    <article class="triton" aria-labelledby={headingId}>
      <h3 id={headingId}>
        Triton {server.id} <Status value={health.state} />
      </h3>
      <dl class="facts wide">
        <div>
          <dt>Endpoint</dt>
          <dd class="path">{server.baseUrl}</dd>
        </div>
        <div>
          <dt>Probe latency · checked</dt>
          <dd>
            {health.latencyMs === null ? '–' : `${health.latencyMs.toFixed(1)} ms`} · {formatTime(health.checkedAt)}
          </dd>
        </div>
        {health.lastError ? (
          <div>
            <dt>Why</dt>
            <dd class="error">{health.lastError}</dd>
          </div>
        ) : null}
      </dl>
      {server.metricsPort !== null && health.state !== 'DOWN' ? <TritonGpus id={server.id} /> : null}
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {indexError ? <p class="error">Models: {indexError}</p> : null}
      {rows.length === 0 && !indexError ? <p class="muted">No models in its repository.</p> : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table aria-label={`Models on ${server.id}`}>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Versions</th>
                {canOperate ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {rows.map(([name, versions]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>
                    <ul class="versions">
                      {versions.map((v) => (
                        <li key={v.version ?? '-'}>
                          {v.version === null ? null : <span class="muted">v{v.version} </span>}
                          <Status value={v.state ?? 'not loaded'} />
                          {v.reason && v.state !== 'READY' ? <span class="muted small"> {v.reason}</span> : null}
                        </li>
                      ))}
                    </ul>
                  </td>
                  {canOperate ? (
                    <td>
                      <div class="actions">
                        {!isReady(versions) ? (
                          <button type="button" disabled={busy !== undefined || isBusy(versions)} aria-label={`Load ${name} on ${server.id}`} onClick={() => act('Load', name, () => runMutation(load({ serverId: server.id, name })))}>
                            Load
                          </button>
                        ) : null}
                        {isReady(versions) ? (
                          <button type="button" disabled={busy !== undefined || isBusy(versions)} aria-label={`Unload ${name} on ${server.id}`} onClick={() => act('Unload', name, () => runMutation(unload({ serverId: server.id, name })))}>
                            Unload
                          </button>
                        ) : null}
                      </div>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </article>
  );
}

/** The server's GPUs from its Prometheus metrics (scraped by the daemon when asked). */
function TritonGpus({ id }: { id: string }) {
  const [{ data, error }, refetch] = useQuery({ query: DashboardTritonMetricsDocument, variables: { id } });
  useEffect(() => {
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), metricsEveryMs);
    return () => clearInterval(timer);
  }, [id]);
  const gpus = data?.tritonServer?.metrics?.gpus ?? [];
  if (error) return <p class="muted small">GPU metrics: {error.graphQLErrors[0]?.message ?? error.message}</p>;
  if (gpus.length === 0) return null;
  return (
    <ul class="triton-gpus" aria-label={`GPUs of ${id}`}>
      {gpus.map((g, i) => (
        <li key={g.uuid}>
          <span class="path" title={g.uuid}>
            GPU {i} ({g.uuid.slice(0, 12)}…)
          </span>{' '}
          <ProgressBar value={g.utilization} label={`Utilisation of GPU ${i} on ${id}`} />{' '}
          <span class="small">
            {formatBytes(g.memoryUsedBytes)} / {formatBytes(g.memoryTotalBytes)}
            {g.powerWatts === null ? '' : ` · ${g.powerWatts.toFixed(0)} W`}
          </span>
        </li>
      ))}
    </ul>
  );
}
