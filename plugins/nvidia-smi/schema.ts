import { requireScope, z, type Builder, type GpuInfo, type GpuLease, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { GpuSample } from './history.ts';
import type { GpuStats, NvidiaSmiApi } from './service.ts';

const historyLastArg = z.number().int('expected an integer').min(1, 'expected at least 1').max(100_000, 'expected at most 100000');
const leaseIdArg = z.string().min(1, 'expected a lease id').max(128, 'expected at most 128 characters').regex(/^[A-Za-z0-9._:-]+$/, 'expected a lease id');

type GpuProcessShape = GpuInfo['processes'][number];

/**
 * GPUs in GraphQL: `gpus`, `gpuLeases`, `releaseGpuLease`, `gpuStats`. Pure: resolvers reach
 * nvidia-smi and the gpu service through the plugin's API, except `releaseGpuLease`, a
 * daemon-wide power that acts for the admin caller through `ctx.core.gpuAdmin`.
 */
export function addNvidiaSmiSchema(builder: Builder, { api }: SchemaHelpers<NvidiaSmiApi>): void {
  const GpuProcessRef = builder.objectRef<GpuProcessShape>('GpuProcess').implement({
    description: 'A compute process on a GPU (`nvidia-smi --query-compute-apps`). PIDs are host PIDs.',
    fields: (t) => ({
      pid: t.exposeInt('pid'),
      usedMemoryMiB: t.exposeInt('usedMemoryMiB', { nullable: true, description: 'GPU memory the process uses; null when nvidia-smi reports `[N/A]`.' }),
      processName: t.exposeString('processName', { nullable: true }),
    }),
  });

  const HolderKind = builder.enumType('GpuLeaseHolderKind', { values: ['job', 'server'] as const });
  const HolderRef = builder.objectRef<GpuLease['holder']>('GpuLeaseHolder').implement({
    description: 'What holds a lease; the lease ends when it does.',
    fields: (t) => ({
      kind: t.field({ type: HolderKind, resolve: (h) => h.kind }),
      id: t.exposeID('id', { description: 'A job id (see `Query.job`) or a server id of the plugin that started it.' }),
    }),
  });

  const GpuLeaseRef = builder.objectRef<GpuLease>('GpuLease').implement({
    description: 'GPUs handed to one job or server by the gpu service.',
    fields: (t) => ({
      id: t.exposeID('id'),
      indices: t.exposeIntList('indices'),
      uuids: t.exposeStringList('uuids'),
      holder: t.field({ type: HolderRef, resolve: (l) => l.holder }),
      createdAt: t.field({ type: 'DateTime', resolve: (l) => l.createdAt }),
      cudaVisibleDevices: t.exposeString('cudaVisibleDevices', { description: 'The `CUDA_VISIBLE_DEVICES` value a process gets, e.g. `0,2`.' }),
      podmanDeviceArgs: t.exposeStringList('podmanDeviceArgs', { description: 'The podman arguments, e.g. `--device nvidia.com/gpu=0`.' }),
    }),
  });

  const GpuSampleRef = builder.objectRef<GpuSample>('GpuSample').implement({
    description: 'One GPU at one sample, for charts.',
    fields: (t) => ({
      sampledAt: t.field({ type: 'DateTime', resolve: (s) => s.sampledAt }),
      memoryUsedMiB: t.exposeInt('memoryUsedMiB', { nullable: true }),
      utilizationPercent: t.exposeInt('utilizationPercent', { nullable: true }),
      temperatureC: t.exposeInt('temperatureC', { nullable: true }),
      powerDrawW: t.exposeFloat('powerDrawW', { nullable: true }),
      processCount: t.exposeInt('processCount'),
    }),
  });

  const GpuRef = builder.objectRef<GpuInfo>('Gpu').implement({
    description: 'A physical GPU as nvidia-smi saw it at the last sample. Unknown values (`[N/A]`, `[Not Supported]`) are null.',
    fields: (t) => ({
      index: t.exposeInt('index', { description: 'nvidia-smi index (PCI bus order), as used in `CUDA_VISIBLE_DEVICES`.' }),
      uuid: t.exposeString('uuid'),
      name: t.exposeString('name'),
      memoryTotalMiB: t.exposeInt('memoryTotalMiB', { nullable: true }),
      memoryUsedMiB: t.exposeInt('memoryUsedMiB', { nullable: true }),
      memoryFreeMiB: t.exposeInt('memoryFreeMiB', { nullable: true }),
      utilizationPercent: t.exposeInt('utilizationPercent', { nullable: true, description: 'Null on MIG-enabled GPUs, which do not report it.' }),
      temperatureC: t.exposeInt('temperatureC', { nullable: true }),
      powerDrawW: t.exposeFloat('powerDrawW', { nullable: true }),
      powerLimitW: t.exposeFloat('powerLimitW', { nullable: true }),
      migMode: t.exposeString('migMode', { nullable: true, description: '`Enabled`, `Disabled`, or null without MIG support. A MIG-enabled GPU is never free as a whole.' }),
      processes: t.field({ type: [GpuProcessRef], resolve: (g) => g.processes }),
      sampledAt: t.field({ type: 'DateTime', resolve: (g) => g.sampledAt }),
      free: t.boolean({
        description: 'No lease holds it, no compute process runs on it, its used memory is under `plugins.nvidia-smi.freeMemoryMiB`, and MIG is off.',
        resolve: (g, _args, ctx) => api(ctx).isFree(g),
      }),
      lease: t.field({ type: GpuLeaseRef, nullable: true, resolve: (g, _args, ctx) => api(ctx).leaseFor(g.index) ?? null }),
      history: t.field({
        type: [GpuSampleRef],
        description: 'The newest `last` samples, oldest first (at most `plugins.nvidia-smi.historySize`; memory only, empty after a restart).',
        args: { last: t.arg.int({ defaultValue: 60, validate: { schema: historyLastArg } }) },
        resolve: (g, { last }, ctx) => api(ctx).history(g.uuid, last ?? 60),
      }),
    }),
  });

  const GpuStatsRef = builder.objectRef<GpuStats>('GpuStats').implement({
    description: 'Every GPU at one sample.',
    fields: (t) => ({
      sampledAt: t.field({ type: 'DateTime', resolve: (s) => s.sampledAt }),
      gpus: t.field({ type: [GpuRef], resolve: (s) => s.gpus }),
    }),
  });

  builder.queryField('gpus', (t) =>
    t.field({
      type: [GpuRef],
      description: 'The GPUs of this host, by index. `UNAVAILABLE` (with nvidia-smi’s own message) while nvidia-smi fails.',
      resolve: (_root, _args, ctx) => api(ctx).gpus(),
    }),
  );

  builder.queryField('gpuLeases', (t) =>
    t.field({ type: [GpuLeaseRef], description: 'Leases held by jobs and servers.', resolve: (_root, _args, ctx) => api(ctx).leases() }),
  );

  builder.mutationField('releaseGpuLease', (t) =>
    t.field({
      type: GpuLeaseRef,
      extensions: requireScope('admin'),
      description: 'Ends a lease at once (its holder keeps running). For leases whose holder is stuck. Returns the released lease.',
      args: { id: t.arg.id({ required: true, validate: { schema: leaseIdArg } }) },
      resolve: (_root, { id }, ctx) => ctx.core.gpuAdmin.releaseLease(String(id)),
    }),
  );

  builder.subscriptionField('gpuStats', (t) =>
    t.field({
      type: GpuStatsRef,
      description: 'The latest sample, then one every `plugins.nvidia-smi.intervalMs`.',
      subscribe: (_root, _args, ctx) => api(ctx).watch(),
      resolve: (stats) => stats,
    }),
  );
}
