import type { DashboardGpuFragment } from '../../../schema/generated/graphql.ts';
import { formatMiB } from '../format.ts';
import { jobHref } from '../router.ts';
import { Chart } from './chart.tsx';

export interface GpuPoint {
  t: number;
  memoryPercent: number | null;
  utilization: number | null;
}

const series = [
  { label: 'memory %', stroke: '#1f6feb' },
  { label: 'utilisation %', stroke: '#b35900' },
];

/** One GPU: name, memory and utilisation now and as sparklines, and who holds its lease. */
export function GpuCard({ gpu, points }: { gpu: DashboardGpuFragment; points: readonly GpuPoint[] }) {
  const data: [number[], (number | null)[], (number | null)[]] = [points.map((p) => p.t), points.map((p) => p.memoryPercent), points.map((p) => p.utilization)];
  const memoryPercent = gpu.memoryTotalMiB && gpu.memoryUsedMiB !== null ? Math.round((gpu.memoryUsedMiB / gpu.memoryTotalMiB) * 100) : null;
  const holder = gpu.lease?.holder;
  return (
    <article class="gpu" aria-labelledby={`gpu-${gpu.index}`}>
      <h3 id={`gpu-${gpu.index}`}>
        GPU {gpu.index} <span class="muted">{gpu.name}</span>
      </h3>
      <dl class="facts">
        <div>
          <dt>Memory</dt>
          <dd>
            {formatMiB(gpu.memoryUsedMiB)} / {formatMiB(gpu.memoryTotalMiB)}
            {memoryPercent !== null ? ` (${memoryPercent} %)` : ''}
          </dd>
        </div>
        <div>
          <dt>Utilisation</dt>
          <dd>{gpu.utilizationPercent ?? '–'} %</dd>
        </div>
        <div>
          <dt>Temp · power</dt>
          <dd>
            {gpu.temperatureC ?? '–'} °C · {gpu.powerDrawW?.toFixed(0) ?? '–'} W
          </dd>
        </div>
        <div>
          <dt>Held by</dt>
          <dd class="lease">
            {holder ? holder.kind === 'job' ? <a href={jobHref(holder.id)}>job {holder.id}</a> : `server ${holder.id}` : gpu.free ? 'free' : gpu.processes.length > 0 ? `${gpu.processes.length} ${gpu.processes.length === 1 ? 'process' : 'processes'}, no lease` : 'busy, no lease'}
          </dd>
        </div>
      </dl>
      <Chart spark height={40} data={data} series={series} yRange={[-4, 104]} summary={`GPU ${gpu.index}: memory ${memoryPercent ?? 'unknown'} %, utilisation ${gpu.utilizationPercent ?? 'unknown'} % over the last ${points.length} samples`} />
      <p class="legend small" aria-hidden="true">
        <span class="key key-memory">memory</span> <span class="key key-util">utilisation</span>
      </p>
    </article>
  );
}

export function pointOf(gpu: Pick<DashboardGpuFragment, 'memoryTotalMiB'>, sample: { sampledAt: string; memoryUsedMiB: number | null; utilizationPercent: number | null }): GpuPoint {
  return {
    t: Date.parse(sample.sampledAt) / 1000,
    memoryPercent: gpu.memoryTotalMiB && sample.memoryUsedMiB !== null ? (sample.memoryUsedMiB / gpu.memoryTotalMiB) * 100 : null,
    utilization: sample.utilizationPercent,
  };
}
