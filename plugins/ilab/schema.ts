import { z, type Builder, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { IlabCheckpoint } from './checkpoints.ts';
import type { ModelCacheState } from './models-cache.ts';
import { addIlabMutations } from './schema-mutations.ts';
import type { IlabApi } from './service.ts';
import { servedNames, type ServedModel, type ServedName } from './serving.ts';
import type { IlabDataset, IlabModel } from './tables.ts';

const servedName = z.enum(servedNames, { error: `expected one of: ${servedNames.join(', ')}` });

/** The ilab plugin's types, queries and subscription. Pure: builds with no ilab installed. */
export function addIlabSchema(builder: Builder, helpers: SchemaHelpers<IlabApi>): void {
  const { api } = helpers;

  const IlabModelRef = builder.objectRef<IlabModel>('IlabModel').implement({
    description: 'A model as `ilab model list` prints it.',
    fields: (t) => ({
      name: t.exposeString('name', { description: '`models/granite-8b-starter-v1`, `instructlab/granite-7b-lab` or a GGUF file name; pass it back as `modelName`.' }),
      lastModified: t.exposeString('lastModified', { description: '`YYYY-MM-DD HH:MM:SS`, the host’s local time, as ilab prints it.' }),
      size: t.exposeString('size', { description: '`15.2 GB` (1024-based), as ilab prints it.' }),
      absolutePath: t.exposeString('absolutePath', { nullable: true, description: 'Printed by ilab ≥ 0.24 only.' }),
    }),
  });

  const IlabModelCacheRef = builder.objectRef<ModelCacheState>('IlabModelCache').implement({
    description: 'The in-memory cache of `ilab model list`.',
    fields: (t) => ({
      count: t.int({ resolve: (s) => s.models.length }),
      refreshedAt: t.field({ type: 'DateTime', nullable: true, description: 'The last successful refresh.', resolve: (s) => s.refreshedAt }),
      lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last refresh failed.' }),
      refreshing: t.exposeBoolean('refreshing'),
    }),
  });

  const IlabDatasetRef = builder.objectRef<IlabDataset>('IlabDataset').implement({
    description: 'A dataset file as `ilab data list` prints it.',
    fields: (t) => ({
      dataset: t.exposeString('dataset', { description: 'Path relative to the datasets directory.' }),
      model: t.exposeString('model', { nullable: true, description: 'ilab ≥ 0.23 only; `General` when the file name names no model.' }),
      createdAt: t.exposeString('createdAt', { description: '`YYYY-MM-DD HH:MM:SS`, local time, as ilab prints it.' }),
      fileSize: t.exposeString('fileSize'),
      run: t.exposeString('run', { nullable: true, description: 'The group the file was listed under: the run id (`2025-01-28_021103`).' }),
    }),
  });

  const IlabCheckpointRef = builder.objectRef<IlabCheckpoint>('IlabCheckpoint').implement({
    description: 'A training checkpoint directory (`checkpoints/hf_format/<name>`).',
    fields: (t) => ({
      name: t.exposeString('name'),
      path: t.exposeString('path'),
      samples: t.exposeInt('samples', { nullable: true, description: 'N of `samples_<N>`.' }),
      modifiedAt: t.field({ type: 'DateTime', resolve: (c) => c.modifiedAt }),
    }),
  });

  const IlabServedModelRef = builder.objectRef<ServedModel>('IlabServedModel').implement({
    description: 'One of the two models the InstructLab UI chats with.',
    fields: (t) => ({
      name: t.exposeString('name', { description: '`pre-train` (the base model) or `post-train` (a checkpoint).' }),
      backend: t.exposeString('backend', { description: '`local` (an `ilab model serve` job of this plugin) or the serving backend that runs it (`vllm`).' }),
      status: t.exposeString('status', { description: '`starting`, `loading`, `running`, `stopped` or `failed`.' }),
      port: t.exposeInt('port', { nullable: true }),
      modelPath: t.exposeString('modelPath', { nullable: true }),
      jobId: t.exposeID('jobId', { nullable: true, description: 'Follow it with `job`, `jobUpdated` and `jobLog`; a local server’s GPU lease has this job as its holder.' }),
      gpus: t.exposeIntList('gpus', { description: 'GPU indices a local server is leased (empty without a GPU inventory).' }),
      idleSince: t.field({ type: 'DateTime', nullable: true, description: 'Since when those GPUs did no work (utilization 0 % in every inventory sample); null without GPUs.', resolve: (m) => m.idleSince }),
      reclaimable: t.exposeBoolean('reclaimable', {
        description: 'Idle for `plugins.ilab.serveIdleMinutes`: a train or qna-eval job that needs its GPUs stops it first (`plugins.ilab.preemptIdleServers`).',
      }),
    }),
  });

  builder.queryField('ilabModels', (t) =>
    t.field({
      type: [IlabModelRef],
      description: 'Models from the `ilab model list` cache. A cold cache waits for the first refresh; a stale one answers at once and refreshes in the background.',
      resolve: (_root, _args, ctx) => api(ctx).models(),
    }),
  );
  builder.queryField('ilabModelCache', (t) => t.field({ type: IlabModelCacheRef, resolve: (_root, _args, ctx) => api(ctx).modelCache() }));
  builder.queryField('ilabDatasets', (t) =>
    t.field({ type: [IlabDatasetRef], description: 'Datasets from `ilab data list` (run on every call).', resolve: (_root, _args, ctx) => api(ctx).datasets() }),
  );
  builder.queryField('ilabCheckpoints', (t) =>
    t.field({
      type: [IlabCheckpointRef],
      description: 'Checkpoint directories, by name. NOT_FOUND when the checkpoints directory does not exist.',
      resolve: (_root, _args, ctx) => api(ctx).checkpoints(),
    }),
  );
  builder.queryField('ilabLatestCheckpoint', (t) =>
    t.field({
      type: IlabCheckpointRef,
      nullable: true,
      description: 'What `serveIlabLatest` serves by default: the highest `samples_<N>`, or a newer `last_epoch`.',
      resolve: (_root, _args, ctx) => api(ctx).latestCheckpoint(),
    }),
  );
  builder.queryField('ilabServedModels', (t) => t.field({ type: [IlabServedModelRef], resolve: (_root, _args, ctx) => api(ctx).servedModels() }));
  builder.queryField('ilabServedModel', (t) =>
    t.field({
      type: IlabServedModelRef,
      description: 'One served name, as whatever serves it reports it (a local job, or any serving backend).',
      args: { name: t.arg.string({ required: true, validate: { schema: servedName } }) },
      resolve: (_root, args, ctx) => api(ctx).servedModel(args.name as ServedName),
    }),
  );

  builder.subscriptionField('ilabModelsRefreshed', (t) =>
    t.field({
      type: [IlabModelRef],
      description: 'The model list after each successful cache refresh (scheduled, manual or on demand).',
      subscribe: (_root, _args, ctx) => api(ctx).modelUpdates(),
      resolve: (models) => models,
    }),
  );

  addIlabMutations(builder, helpers, { IlabModelRef, IlabServedModelRef });
}
