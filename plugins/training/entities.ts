import { defineEntity, p, type PluginMigration } from '../../core/plugin-api.ts';
import { trainingMigrationSql } from './migrations.ts';

/*
 * Property names are the records' own snake_case (the Model Training Manager's shape, see
 * types.ts), so a row maps to a record field by field; only the `*_at` times differ (Date in
 * the database, ISO strings in the records).
 */

/** An uploaded dataset (the file lives under the plugin's data dir). */
export const TrainingDatasetEntity = defineEntity({
  name: 'TrainingDataset',
  tableName: 'training_datasets',
  properties: {
    id: p.integer().primary().autoincrement(false),
    name: p.string(),
    description: p.text().nullable(),
    filename: p.text(),
    file_path: p.text(),
    file_type: p.string(),
    file_size: p.bigint('number'),
    row_count: p.integer(),
    column_count: p.integer(),
    /** JSON-encoded array of column names, as the real project stores it. */
    columns: p.text(),
    created_at: p.datetime(),
    updated_at: p.datetime(),
  },
});

/** A training job (`job-<n>`), with what the daemon needs to re-adopt its trainer after a restart. */
export const TrainingJobEntity = defineEntity({
  name: 'TrainingJob',
  tableName: 'training_jobs',
  properties: {
    id: p.string().primary(),
    /** text: a project's run is named `project <name>`, which may pass 255 characters. */
    name: p.text(),
    description: p.text().nullable(),
    status: p.string().index(),
    training_type: p.string(),
    model_name: p.string(),
    dataset_id: p.integer().nullable(),
    project_id: p.string().nullable(),
    batch_size: p.integer(),
    learning_rate: p.double(),
    epochs: p.integer(),
    lora_r: p.integer(),
    lora_alpha: p.integer(),
    lora_dropout: p.double(),
    progress: p.double(),
    current_epoch: p.integer(),
    current_loss: p.double().nullable(),
    error_message: p.text().nullable(),
    log: p.text(),
    model_path: p.text().nullable(),
    worker_id: p.string().nullable(),
    core_job_id: p.string().nullable(),
    socket_path: p.text().nullable(),
    gpus: p.json<number[]>(),
    started_at: p.datetime().nullable(),
    completed_at: p.datetime().nullable(),
    created_at: p.datetime(),
    updated_at: p.datetime(),
  },
});

/** A project (`project-<n>`); its traits and their dataset allocations are rows of their own. */
export const TrainingProjectEntity = defineEntity({
  name: 'TrainingProject',
  tableName: 'training_projects',
  properties: {
    id: p.string().primary(),
    name: p.string(),
    description: p.text().nullable(),
    base_model: p.string(),
    model_type: p.string().nullable(),
    training_type: p.string(),
    max_rows: p.integer().nullable(),
    output_directory: p.text(),
    status: p.string(),
    progress: p.double(),
    current_epoch: p.integer(),
    current_loss: p.double().nullable(),
    error_message: p.text().nullable(),
    model_path: p.text().nullable(),
    worker_id: p.string().nullable(),
    job_id: p.string().nullable(),
    started_at: p.datetime().nullable(),
    completed_at: p.datetime().nullable(),
    created_at: p.datetime(),
    updated_at: p.datetime(),
  },
});

/** A trait of a project (`reasoning`, `coding`, `general_tools`); `position` keeps their order. */
export const TrainingTraitEntity = defineEntity({
  name: 'TrainingTrait',
  tableName: 'training_project_traits',
  properties: {
    id: p.integer().primary().autoincrement(false),
    project_id: p.string().index(),
    position: p.integer(),
    trait_type: p.string(),
  },
});

/** One dataset's share of a trait (`percentage`), in the order given. */
export const TrainingAllocationEntity = defineEntity({
  name: 'TrainingAllocation',
  tableName: 'training_allocations',
  properties: {
    trait_id: p.integer().primary().autoincrement(false),
    position: p.integer().primary().autoincrement(false),
    project_id: p.string().index(),
    dataset_id: p.integer().index(),
    percentage: p.double(),
  },
});

/** A worker slot of the pool (`worker-<8 hex>`); the pool comes back with its slots after a restart. */
export const TrainingWorkerEntity = defineEntity({
  name: 'TrainingWorker',
  tableName: 'training_workers',
  properties: {
    id: p.string().primary(),
    status: p.string(),
    current_job_id: p.string().nullable(),
    jobs_completed: p.integer(),
    gpus: p.json<number[]>(),
    started_at: p.datetime(),
    last_activity: p.datetime(),
  },
});

/** The config singleton (`id` 1) of `GET/PATCH /config/`. */
export const TrainingConfigEntity = defineEntity({
  name: 'TrainingConfig',
  tableName: 'training_config',
  properties: {
    id: p.integer().primary().autoincrement(false),
    max_concurrent_workers: p.integer(),
    default_model: p.string(),
    default_training_type: p.string(),
    default_batch_size: p.integer(),
    default_learning_rate: p.double(),
    default_epochs: p.integer(),
    default_lora_r: p.integer(),
    default_lora_alpha: p.integer(),
    default_lora_dropout: p.double(),
    auto_start_workers: p.boolean(),
    created_at: p.datetime(),
    updated_at: p.datetime(),
  },
});

/** The next number of each id sequence (`dataset`, `job`, `project`, `trait`): ids are never reused, even after a delete. */
export const TrainingCounterEntity = defineEntity({
  name: 'TrainingCounter',
  tableName: 'training_counters',
  properties: {
    name: p.string().primary(),
    value: p.integer(),
  },
});

export const trainingEntities = [
  TrainingDatasetEntity,
  TrainingJobEntity,
  TrainingProjectEntity,
  TrainingTraitEntity,
  TrainingAllocationEntity,
  TrainingWorkerEntity,
  TrainingConfigEntity,
  TrainingCounterEntity,
];

export const trainingMigrations: PluginMigration[] = [
  {
    name: '0001-training-tables',
    up({ dialect, sql }) {
      for (const statement of trainingMigrationSql[dialect === 'postgresql' ? 'postgresql' : 'sqlite']) sql(statement);
    },
  },
];
