import { defineEntity, p, type PluginMigration } from '../../core/plugin-api.ts';
import { tinkerMigrationSql } from './migrations.ts';

/** A client session (an SDK `ServiceClient`): heartbeats keep it and what it created alive. */
export const TinkerSessionEntity = defineEntity({
  name: 'TinkerSession',
  tableName: 'tinker_sessions',
  properties: {
    id: p.string().primary(),
    /** `active` or `expired` (missed heartbeats; its models and samplers were released). */
    status: p.string(),
    tags: p.json<string[]>(),
    userMetadata: p.json<Record<string, unknown>>().nullable(),
    sdkVersion: p.string().nullable(),
    createdAt: p.datetime(),
    lastHeartbeatAt: p.datetime(),
  },
});

/** A training model (`training_run_id`): LoRA adapters over a base model, in one worker. */
export const TinkerModelEntity = defineEntity({
  name: 'TinkerModel',
  tableName: 'tinker_models',
  properties: {
    id: p.string().primary(),
    sessionId: p.string().nullable().index(),
    modelSeqId: p.integer().nullable(),
    baseModel: p.string(),
    loraConfig: p.json<Record<string, unknown>>(),
    /** `creating`, `ready`, `failed`, `deleted`, or `lost` (the daemon restarted; weights gone). */
    status: p.string(),
    message: p.text().nullable(),
    userMetadata: p.json<Record<string, unknown>>().nullable(),
    /** The last seq_id executed. */
    lastSeqId: p.integer(),
    /** optim_steps applied. */
    step: p.integer(),
    lastLoss: p.double().nullable(),
    parameters: p.integer().nullable(),
    trainableParameters: p.integer().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

/** A sampling client: a frozen snapshot of weights (base, a checkpoint, or a training model synced). */
export const TinkerSamplerEntity = defineEntity({
  name: 'TinkerSampler',
  tableName: 'tinker_samplers',
  properties: {
    id: p.string().primary(),
    sessionId: p.string().nullable().index(),
    seqId: p.integer().nullable(),
    baseModel: p.string(),
    modelPath: p.text().nullable(),
    /** The training model whose weights it was synced from (ephemeral save_weights_for_sampler). */
    sourceModelId: p.string().nullable(),
    status: p.string(),
    message: p.text().nullable(),
    createdAt: p.datetime(),
  },
});

/** A future (`request_id`): persisted so a restarted daemon still answers for it. */
export const TinkerFutureEntity = defineEntity({
  name: 'TinkerFuture',
  tableName: 'tinker_futures',
  properties: {
    id: p.string().primary(),
    kind: p.string(),
    modelId: p.string().nullable().index(),
    samplerId: p.string().nullable(),
    sessionId: p.string().nullable(),
    seqId: p.integer().nullable(),
    payloadHash: p.string().nullable(),
    /** `pending`, `running`, `complete`, `failed`. */
    state: p.string(),
    result: p.json<unknown>().nullable(),
    error: p.text().nullable(),
    category: p.string().nullable(),
    createdAt: p.datetime(),
    completedAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
  },
});

/** A checkpoint file under the plugin's data dir, addressed by its `tinker://` path. */
export const TinkerCheckpointEntity = defineEntity({
  name: 'TinkerCheckpoint',
  tableName: 'tinker_checkpoints',
  properties: {
    path: p.string().primary(),
    modelId: p.string().index(),
    kind: p.string(),
    name: p.string(),
    file: p.text(),
    bytes: p.integer(),
    baseModel: p.string(),
    loraConfig: p.json<Record<string, unknown>>(),
    step: p.integer(),
    createdAt: p.datetime(),
    expiresAt: p.datetime().nullable(),
  },
});

export type TinkerSessionRow = InstanceType<typeof TinkerSessionEntity.class>;
export type TinkerModelRow = InstanceType<typeof TinkerModelEntity.class>;
export type TinkerSamplerRow = InstanceType<typeof TinkerSamplerEntity.class>;
export type TinkerFutureRow = InstanceType<typeof TinkerFutureEntity.class>;
export type TinkerCheckpointRow = InstanceType<typeof TinkerCheckpointEntity.class>;

export const tinkerEntities = [TinkerSessionEntity, TinkerModelEntity, TinkerSamplerEntity, TinkerFutureEntity, TinkerCheckpointEntity];

export const tinkerMigrations: PluginMigration[] = [
  {
    name: '0001-tinker-tables',
    up({ dialect, sql }) {
      for (const statement of tinkerMigrationSql[dialect === 'postgresql' ? 'postgresql' : 'sqlite']) sql(statement);
    },
  },
];
