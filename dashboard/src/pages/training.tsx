import { useQuery, useSubscription } from '@urql/preact';
import { useEffect, useMemo } from 'preact/hooks';
import {
  DashboardTinkerDocument,
  DashboardTinkerTrainingMetricsDocument,
  type DashboardTinkerModelFragment,
  type DashboardTinkerQuery,
} from '../../../schema/generated/graphql.ts';
import { Chart } from '../components/chart.tsx';
import { ErrorNote, Section, Status } from '../components/common.tsx';
import { formatDuration } from '../format.ts';

/** Model and worker states are not pushed: the list is asked again this often. */
const refreshEveryMs = 3000;
const maxPoints = 10_000;
const lossSeries = [{ label: 'loss per token', stroke: '#b35900' }];
/** Models whose weights live in a worker: only these train, so only these get a subscription. */
const live = new Set(['creating', 'ready', 'restoring']);

/** Training: the tinker plugin's models, their workers, and a live loss plot per model. */
export function Training({ plugins }: { plugins: readonly string[] }) {
  return (
    <>
      <h1>Training</h1>
      {plugins.includes('tinker') ? (
        <Section title="Tinker models" id="training-tinker">
          <TinkerPanel />
        </Section>
      ) : (
        <p class="muted">No training plugin is enabled.</p>
      )}
    </>
  );
}

function TinkerPanel() {
  const [{ data, error }, refetch] = useQuery({ query: DashboardTinkerDocument });
  useEffect(() => {
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), refreshEveryMs);
    return () => clearInterval(timer);
  }, []);
  if (error && !data) return <ErrorNote error={error} what="Tinker" />;
  if (!data) return null;
  const workers = new Map(data.tinkerWorkers.map((w) => [w.id, w]));
  const models = [...data.tinkerModels].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  return (
    <>
      {models.length === 0 ? <p class="muted">No tinker models yet. A Tinker SDK client creates them (`create_lora_training_client`).</p> : null}
      <div class="tinker-models">
        {models.map((m) => (
          <TinkerModelCard key={m.id} model={m} worker={m.workerId ? workers.get(m.workerId) : undefined} />
        ))}
      </div>
      {data.tinkerWorkers.length > 0 ? (
        <>
          <h3>Workers</h3>
          <div class="table-wrap">
            <table aria-label="Tinker workers">
              <thead>
                <tr>
                  <th scope="col">Worker</th>
                  <th scope="col">Status</th>
                  <th scope="col">PID</th>
                  <th scope="col">Up</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">GPUs</th>
                  <th scope="col">Holds</th>
                </tr>
              </thead>
              <tbody>
                {data.tinkerWorkers.map((w) => (
                  <tr key={w.id}>
                    <th scope="row">{w.id}</th>
                    <td>
                      <Status value={w.status} />
                      {w.lastError ? <div class="muted small">{w.lastError}</div> : null}
                    </td>
                    <td>{w.pid ?? '–'}</td>
                    <td>{formatDuration(w.startedAt)}</td>
                    <td>{w.restarts}</td>
                    <td>{w.gpus.length > 0 ? w.gpus.join(', ') : '–'}</td>
                    <td class="path">{w.units.join(', ') || '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </>
  );
}

interface LossPoint {
  step: number;
  loss: number;
}

function TinkerModelCard({ model, worker }: { model: DashboardTinkerModelFragment; worker: DashboardTinkerQuery['tinkerWorkers'][number] | undefined }) {
  const [metrics] = useSubscription(
    { query: DashboardTinkerTrainingMetricsDocument, variables: { modelId: model.id }, pause: !live.has(model.status) },
    (previous: LossPoint[] = [], event) => {
      const m = event.tinkerTrainingMetrics;
      return [...previous.slice(-(maxPoints - 1)), { step: m.step, loss: m.meanLoss ?? m.loss }];
    },
  );
  // The API keeps only the last loss: the plot starts with it, then every step seen live.
  const plot = useMemo(() => {
    const points: LossPoint[] = model.lastLoss !== null && model.step > 0 ? [{ step: model.step, loss: model.lastLoss }] : [];
    for (const p of metrics.data ?? []) if (p.step > (points.at(-1)?.step ?? -1)) points.push(p);
    return [points.map((p) => p.step), points.map((p) => p.loss)] as [number[], number[]];
  }, [metrics.data, model.id]);
  const headingId = `tinker-${model.id}`;
  const last = plot[1].at(-1);
  return (
    <article class="tinker-model" aria-labelledby={headingId}>
      <h3 id={headingId}>
        <span class="path">{model.id}</span> <Status value={model.status} />
      </h3>
      <dl class="facts">
        <div>
          <dt>Base · LoRA rank</dt>
          <dd>
            {model.baseModel} · {model.lora.rank === 0 ? 'full' : model.lora.rank}
          </dd>
        </div>
        <div>
          <dt>Step · last loss</dt>
          <dd>
            {model.step} · {model.lastLoss === null ? '–' : model.lastLoss.toFixed(3)}
          </dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd>
            {model.queued}
            {model.waitingForSeqId !== null ? ` (waiting for seq_id ${model.waitingForSeqId})` : ''}
          </dd>
        </div>
        <div>
          <dt>Worker</dt>
          <dd>{worker ? <>{worker.id} <Status value={worker.status} /></> : (model.workerId ?? '–')}</dd>
        </div>
      </dl>
      {model.message ? <p class="muted small">{model.message}</p> : null}
      {plot[0].length > 0 ? (
        <Chart
          height={160}
          data={plot}
          series={lossSeries}
          xTime={false}
          xLabel="step"
          yLabel="loss"
          summary={`Loss of ${model.id}: ${plot[0].length} steps plotted, now ${last?.toFixed(3) ?? 'unknown'} at step ${plot[0].at(-1) ?? 0}`}
        />
      ) : (
        <p class="muted small">{live.has(model.status) ? 'The loss is plotted here from the next optim_step.' : 'Not training (its weights are not in a worker).'}</p>
      )}
    </article>
  );
}
