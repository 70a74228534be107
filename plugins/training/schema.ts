import { InputError, requireScope, z, type Builder, type GraphQLContext, type SchemaHelpers } from '../../core/plugin-api.ts';
import { configPatchSchema, jobCreateSchema, metadataPatchSchema, projectCreateSchema, workerControlSchema } from './inputs.ts';
import type { JobProgressEvent, TrainingService } from './service.ts';
import { jobStatuses, projectStatuses, trainingTypes, traitTypes, workerStatuses, type TrainingJob } from './types.ts';
import { inputToSnake } from './wire.ts';

type Kind = 'String' | 'Int' | 'Float' | 'Boolean' | '[String]' | '[Int]';
/** `[camelName, snake_key, GraphQL type, nullable?]` */
type FieldSpec = readonly [string, string, Kind, boolean?];

const toCamel = (key: string) => key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const spec = (keys: string, kind: Kind, nullable = false): FieldSpec[] => keys.split(/\s+/).filter(Boolean).map((k) => [toCamel(k), k, kind, nullable] as const);

const exposers: Record<Kind, string> = { String: 'exposeString', Int: 'exposeInt', Float: 'exposeFloat', Boolean: 'exposeBoolean', '[String]': 'exposeStringList', '[Int]': 'exposeIntList' };

/**
 * Object fields that expose the record's snake_case keys (exposed fields use the default
 * resolver, which compiled execution inlines: a page of 100 datasets is 1,300 of them).
 */
function fieldsOf(specs: FieldSpec[]) {
  return (t: any) => Object.fromEntries(specs.map(([name, key, kind, nullable]) => [name, t[exposers[kind as Kind]](key, { nullable: nullable ?? false })]));
}

/** Parses a GraphQL input with the REST body's schema (a BAD_USER_INPUT naming the field). */
function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InputError(`Invalid ${issue.path.length ? `input.${issue.path.map((p) => (typeof p === 'string' ? toCamel(p) : String(p))).join('.')}` : 'input'}: ${issue.message}`);
}

/** Defaults apply when an argument is left out; an explicit `null` arrives as null. */
type PageArgs = { page?: number | null; pageSize?: number | null };
const pageArgs = (t: any, size: number) => ({
  page: t.arg.int({ defaultValue: 1, validate: { schema: z.number().int().min(1) } }),
  pageSize: t.arg.int({ defaultValue: size, validate: { schema: z.number().int().min(1).max(100) } }),
});
const idArg = (t: any) => t.arg.string({ required: true, validate: { schema: z.string().min(1).max(64) } });
const datasetIdArg = (t: any) => t.arg.int({ required: true, validate: { schema: z.number().int().positive() } });

/**
 * The training plugin's GraphQL: datasets, jobs, the worker pool, projects, config and model
 * checks, plus `trainingJobProgress`. Every field needs `read` (queries, subscription) or
 * `operate` (mutations); `updateTrainingConfig` needs `admin`. Pure: no I/O here.
 */
export function addTrainingSchema(builder: Builder, { api }: SchemaHelpers<TrainingService>): void {
  const TypeEnum = builder.enumType('TrainingType', { values: trainingTypes, description: 'qlora, standard (full fine-tune), rag (an embedding index), unsloth.' });
  const JobStatusEnum = builder.enumType('TrainingJobStatus', { values: jobStatuses, description: 'pending (no worker) → queued → running → completed | failed | cancelled.' });
  const ProjectStatusEnum = builder.enumType('TrainingProjectStatus', { values: projectStatuses });
  const TraitEnum = builder.enumType('TrainingTraitType', { values: traitTypes });
  const WorkerStatusEnum = builder.enumType('TrainingWorkerStatus', { values: workerStatuses });
  const ActionEnum = builder.enumType('TrainingWorkerAction', { values: ['start', 'stop', 'restart'] as const });

  const Health = builder.objectRef<{ status: string; version: string; environment: string }>('TrainingHealth').implement({ fields: fieldsOf(spec('status version environment', 'String')) });

  const Dataset = builder.objectRef<Record<string, unknown>>('TrainingDataset').implement({
    description: 'An uploaded dataset (CSV, JSON array of objects, JSONL) stored under the plugin data dir.',
    fields: (t: any) => ({
      ...fieldsOf([...spec('id row_count column_count', 'Int'), ...spec('name filename file_path file_type columns created_at updated_at', 'String'), ...spec('description', 'String', true), ...spec('file_size', 'Float')])(t),
      columnList: t.stringList({ description: 'The columns, decoded from `columns` (a JSON-encoded string as in the real API).', resolve: (d: { columns: string }) => JSON.parse(d.columns) }),
    }),
  });

  const hyper = [...spec('batch_size epochs lora_r lora_alpha', 'Int'), ...spec('learning_rate lora_dropout', 'Float')];
  const Job = builder.objectRef<TrainingJob>('TrainingJob').implement({
    description: 'A fine-tuning job: one trainer process (a core job, `coreJobId`) with a GPU lease when the host has GPUs.',
    fields: (t: any) => ({
      ...fieldsOf([
        ...spec('id name model_name log created_at updated_at', 'String'),
        ...spec('description project_id error_message model_path worker_id core_job_id started_at completed_at', 'String', true),
        ...spec('dataset_id', 'Int', true),
        ...spec('current_epoch', 'Int'),
        ...spec('progress', 'Float'),
        ...spec('current_loss', 'Float', true),
        ...spec('gpus', '[Int]'),
        ...hyper,
      ])(t),
      status: t.field({ type: JobStatusEnum, resolve: (j: TrainingJob) => j.status }),
      trainingType: t.field({ type: TypeEnum, resolve: (j: TrainingJob) => j.training_type }),
      workerLog: t.string({
        nullable: true,
        description: 'The last `tail` lines of the trainer process’s log (the core job’s log; follow it live with `jobLog(id: coreJobId)`).',
        args: { tail: t.arg.int({ defaultValue: 100, validate: { schema: z.number().int().min(0).max(10_000) } }) },
        resolve: (j: TrainingJob, { tail }: { tail?: number | null }, ctx: GraphQLContext) => api(ctx).workerLog(j, tail ?? 100),
      }),
    }),
  });

  const TraitDataset = builder.objectRef<Record<string, unknown>>('TrainingTraitDataset').implement({ fields: fieldsOf([...spec('dataset_id', 'Int'), ...spec('percentage', 'Float')]) });
  const Trait = builder.objectRef<Record<string, unknown>>('TrainingProjectTrait').implement({
    fields: (t: any) => ({
      id: t.int({ resolve: (o: { id: number }) => o.id }),
      traitType: t.field({ type: TraitEnum, resolve: (o: { trait_type: string }) => o.trait_type }),
      datasets: t.field({ type: [TraitDataset], resolve: (o: { datasets: unknown[] }) => o.datasets }),
    }),
  });
  const Project = builder.objectRef<Record<string, unknown>>('TrainingProject').implement({
    description: 'A training project: traits with dataset allocations, trained as one job over their seeded row mix.',
    fields: (t: any) => ({
      ...fieldsOf([
        ...spec('id name base_model output_directory created_at updated_at', 'String'),
        ...spec('description model_type error_message model_path worker_id job_id started_at completed_at', 'String', true),
        ...spec('max_rows', 'Int', true),
        ...spec('current_epoch', 'Int'),
        ...spec('progress', 'Float'),
        ...spec('current_loss', 'Float', true),
      ])(t),
      status: t.field({ type: ProjectStatusEnum, resolve: (p: { status: string }) => p.status }),
      trainingType: t.field({ type: TypeEnum, resolve: (p: { training_type: string }) => p.training_type }),
      traits: t.field({ type: [Trait], resolve: (p: { traits: unknown[] }) => p.traits }),
    }),
  });

  const Worker = builder.objectRef<Record<string, unknown>>('TrainingWorker').implement({
    description: 'A worker slot (`worker-<hex>`): runs one job’s trainer process at a time.',
    fields: (t: any) => ({
      ...fieldsOf([...spec('id started_at last_activity', 'String'), ...spec('current_job_id', 'String', true), ...spec('jobs_completed', 'Int'), ...spec('gpus', '[Int]')])(t),
      status: t.field({ type: WorkerStatusEnum, resolve: (w: { status: string }) => w.status }),
    }),
  });
  const Pool = builder.objectRef<Record<string, unknown>>('TrainingWorkerPool').implement({
    fields: (t: any) => ({
      ...fieldsOf(spec('total_workers active_workers idle_workers busy_workers max_workers jobs_in_queue', 'Int'))(t),
      workers: t.field({ type: [Worker], resolve: (p: { workers: unknown[] }) => p.workers }),
    }),
  });

  const Config = builder.objectRef<Record<string, unknown>>('TrainingConfig').implement({
    description: 'The training defaults singleton (`GET/PATCH /config/`).',
    fields: (t: any) => ({
      ...fieldsOf([
        ...spec('id max_concurrent_workers active_workers default_batch_size default_epochs default_lora_r default_lora_alpha', 'Int'),
        ...spec('default_learning_rate default_lora_dropout', 'Float'),
        ...spec('default_model created_at updated_at', 'String'),
        ...spec('auto_start_workers', 'Boolean'),
      ])(t),
      defaultTrainingType: t.field({ type: TypeEnum, resolve: (c: { default_training_type: string }) => c.default_training_type }),
    }),
  });

  const page = <T>(name: string, item: T) =>
    builder.objectRef<Record<string, unknown>>(name).implement({
      fields: (t: any) => ({ ...fieldsOf(spec('total page page_size pages', 'Int'))(t), items: t.field({ type: [item], resolve: (p: { items: unknown[] }) => p.items }) }),
    });
  const DatasetPage = page('TrainingDatasetPage', Dataset);
  const JobPage = page('TrainingJobPage', Job);
  const ProjectPage = page('TrainingProjectPage', Project);

  const ModelCheck = builder.objectRef<Record<string, unknown>>('TrainingModelCheck').implement({ fields: fieldsOf([...spec('available', 'Boolean'), ...spec('model_name', 'String'), ...spec('path', 'String', true), ...spec('errors', '[String]')]) });
  const DirCheck = builder.objectRef<Record<string, unknown>>('TrainingOutputDirCheck').implement({ fields: fieldsOf([...spec('valid writable', 'Boolean'), ...spec('path', 'String'), ...spec('errors', '[String]')]) });
  const FileCheck = builder.objectRef<Record<string, unknown>>('TrainingFileCheck').implement({ fields: fieldsOf([...spec('valid', 'Boolean'), ...spec('files_checked errors', '[String]')]) });
  const LoadCheck = builder.objectRef<Record<string, unknown>>('TrainingLoadCheck').implement({
    fields: fieldsOf([...spec('valid', 'Boolean'), ...spec('errors', '[String]'), ...spec('model_name sample_text', 'String', true), ...spec('parameters', 'Float', true)]),
  });
  const Validation = builder.objectRef<Record<string, unknown>>('TrainingProjectValidation').implement({
    fields: (t: any) => ({
      valid: t.boolean({ resolve: (v: { valid: boolean }) => v.valid }),
      files: t.field({ type: FileCheck, resolve: (v: { files: unknown }) => v.files }),
      loading: t.field({ type: LoadCheck, resolve: (v: { loading: unknown }) => v.loading }),
      errors: t.stringList({ resolve: (v: { errors: string[] }) => v.errors }),
    }),
  });

  const hyperInputs = (t: any) => ({
    batchSize: t.int(),
    learningRate: t.float(),
    epochs: t.int(),
    loraR: t.int(),
    loraAlpha: t.int(),
    loraDropout: t.float(),
  });
  const JobInput = builder.inputType('CreateTrainingJobInput', {
    fields: (t: any) => ({
      name: t.string({ required: true }),
      description: t.string(),
      datasetId: t.int({ required: true }),
      trainingType: t.field({ type: TypeEnum }),
      modelName: t.string({ description: '`tiny-lm`, a Hugging Face id in the cache, or a known Ollama alias; default: the config’s.' }),
      ...hyperInputs(t),
    }),
  });
  const MetaInput = builder.inputType('TrainingMetadataInput', { fields: (t: any) => ({ name: t.string(), description: t.string() }) });
  const ConfigInput = builder.inputType('UpdateTrainingConfigInput', {
    fields: (t: any) => ({
      maxConcurrentWorkers: t.int(),
      defaultModel: t.string(),
      defaultTrainingType: t.field({ type: TypeEnum }),
      defaultBatchSize: t.int(),
      defaultLearningRate: t.float(),
      defaultEpochs: t.int(),
      defaultLoraR: t.int(),
      defaultLoraAlpha: t.int(),
      defaultLoraDropout: t.float(),
      autoStartWorkers: t.boolean(),
    }),
  });
  const AllocationInput = builder.inputType('TrainingAllocationInput', { fields: (t: any) => ({ datasetId: t.int({ required: true }), percentage: t.float({ required: true }) }) });
  const TraitInput = builder.inputType('TrainingTraitInput', { fields: (t: any) => ({ traitType: t.field({ type: TraitEnum, required: true }), datasets: t.field({ type: [AllocationInput], required: true }) }) });
  const ProjectInput = builder.inputType('CreateTrainingProjectInput', {
    fields: (t: any) => ({
      name: t.string({ required: true }),
      description: t.string(),
      baseModel: t.string({ required: true }),
      modelType: t.string(),
      trainingType: t.field({ type: TypeEnum }),
      maxRows: t.int(),
      outputDirectory: t.string({ required: true }),
      traits: t.field({ type: [TraitInput], required: true }),
    }),
  });

  builder.queryFields((t: any) => ({
    trainingHealth: t.field({ type: Health, resolve: () => ({ status: 'healthy', version: '1.0.0', environment: 'production' }) }),
    trainingConfig: t.field({ type: Config, resolve: (_r: unknown, _a: unknown, ctx: GraphQLContext) => api(ctx).configView() }),
    trainingDatasets: t.field({ type: DatasetPage, args: pageArgs(t, 10), resolve: (_r: unknown, a: PageArgs, ctx: GraphQLContext) => api(ctx).listDatasets(a.page ?? 1, a.pageSize ?? 10) }),
    trainingDataset: t.field({ type: Dataset, args: { id: datasetIdArg(t) }, resolve: (_r: unknown, a: { id: number }, ctx: GraphQLContext) => api(ctx).dataset(a.id) }),
    trainingJobs: t.field({
      type: JobPage,
      description: 'Jobs, newest first; a project’s training runs are jobs too (with `projectId`).',
      args: { ...pageArgs(t, 10), status: t.arg({ type: JobStatusEnum }) },
      resolve: (_r: unknown, a: PageArgs & { status?: TrainingJob['status'] | null }, ctx: GraphQLContext) => api(ctx).listJobs(a.page ?? 1, a.pageSize ?? 10, a.status ?? undefined),
    }),
    trainingJob: t.field({ type: Job, args: { id: idArg(t) }, resolve: (_r: unknown, a: { id: string }, ctx: GraphQLContext) => api(ctx).job(a.id) }),
    trainingWorkers: t.field({ type: Pool, resolve: (_r: unknown, _a: unknown, ctx: GraphQLContext) => api(ctx).poolStatus() }),
    trainingProjects: t.field({ type: ProjectPage, args: pageArgs(t, 50), resolve: (_r: unknown, a: PageArgs, ctx: GraphQLContext) => api(ctx).listProjects(a.page ?? 1, a.pageSize ?? 50) }),
    trainingProject: t.field({ type: Project, args: { id: idArg(t) }, resolve: (_r: unknown, a: { id: string }, ctx: GraphQLContext) => api(ctx).project(a.id) }),
    trainingAvailableModels: t.stringList({ description: '`tiny-lm` and every model with a valid snapshot in the Hugging Face cache.', resolve: (_r: unknown, _a: unknown, ctx: GraphQLContext) => api(ctx).availableModels() }),
    trainingValidateModel: t.field({
      type: ModelCheck,
      args: { modelName: t.arg.string({ required: true, validate: { schema: z.string().min(1).max(255) } }) },
      resolve: (_r: unknown, a: { modelName: string }, ctx: GraphQLContext) => api(ctx).validateModel(a.modelName),
    }),
  }));

  builder.mutationFields((t: any) => ({
    createTrainingDataset: t.field({
      type: Dataset,
      description: 'Stores a staged upload (`POST /uploads`, field `file`) as a dataset; a bad file is BAD_USER_INPUT naming the line.',
      args: { uploadId: t.arg.string({ required: true, validate: { schema: z.string().min(1).max(128) } }), name: t.arg.string({ validate: { schema: z.string().max(255) } }), description: t.arg.string({ validate: { schema: z.string().max(5000) } }) },
      resolve: (_r: unknown, a: { uploadId: string; name?: string | null; description?: string | null }, ctx: GraphQLContext) => api(ctx).createDataset(a.uploadId, { name: a.name, description: a.description }),
    }),
    updateTrainingDataset: t.field({
      type: Dataset,
      args: { id: datasetIdArg(t), input: t.arg({ type: MetaInput, required: true }) },
      resolve: (_r: unknown, a: { id: number; input: Record<string, unknown> }, ctx: GraphQLContext) => api(ctx).patchDataset(a.id, parseInput(metadataPatchSchema, inputToSnake(a.input))),
    }),
    deleteTrainingDataset: t.boolean({ args: { id: datasetIdArg(t) }, resolve: async (_r: unknown, a: { id: number }, ctx: GraphQLContext) => (await api(ctx).deleteDataset(a.id), true) }),
    createTrainingJob: t.field({
      type: Job,
      args: { input: t.arg({ type: JobInput, required: true }) },
      resolve: (_r: unknown, a: { input: Record<string, unknown> }, ctx: GraphQLContext) => api(ctx).createJob(parseInput(jobCreateSchema, inputToSnake(a.input))),
    }),
    cancelTrainingJob: t.field({
      type: Job,
      description: 'Stops the job’s trainer process group and frees its GPU lease, then returns it `cancelled`.',
      args: { id: idArg(t) },
      resolve: (_r: unknown, a: { id: string }, ctx: GraphQLContext) => api(ctx).cancelJob(a.id),
    }),
    updateTrainingConfig: t.field({
      type: Config,
      extensions: requireScope('admin'),
      args: { input: t.arg({ type: ConfigInput, required: true }) },
      resolve: (_r: unknown, a: { input: Record<string, unknown> }, ctx: GraphQLContext) => api(ctx).patchConfig(parseInput(configPatchSchema, inputToSnake(a.input))),
    }),
    controlTrainingWorkers: t.field({
      type: Pool,
      args: { action: t.arg({ type: ActionEnum, required: true }), workerCount: t.arg.int({ validate: { schema: z.number().int().min(1).max(32) } }) },
      resolve: (_r: unknown, a: { action: string; workerCount?: number | null }, ctx: GraphQLContext) => api(ctx).controlWorkers(parseInput(workerControlSchema, { action: a.action, worker_count: a.workerCount ?? undefined })),
    }),
    createTrainingProject: t.field({
      type: Project,
      args: { input: t.arg({ type: ProjectInput, required: true }) },
      resolve: (_r: unknown, a: { input: Record<string, unknown> }, ctx: GraphQLContext) => api(ctx).createProject(parseInput(projectCreateSchema, inputToSnake(a.input))),
    }),
    updateTrainingProject: t.field({
      type: Project,
      args: { id: idArg(t), input: t.arg({ type: MetaInput, required: true }) },
      resolve: (_r: unknown, a: { id: string; input: Record<string, unknown> }, ctx: GraphQLContext) => api(ctx).patchProject(a.id, parseInput(metadataPatchSchema, inputToSnake(a.input))),
    }),
    startTrainingProject: t.field({ type: Project, args: { id: idArg(t) }, resolve: (_r: unknown, a: { id: string }, ctx: GraphQLContext) => api(ctx).startProject(a.id) }),
    validateTrainingProject: t.field({ type: Validation, args: { id: idArg(t) }, resolve: (_r: unknown, a: { id: string }, ctx: GraphQLContext) => api(ctx).validateProject(a.id) }),
    validateTrainingOutputDir: t.field({
      type: DirCheck,
      description: 'Whether the directory exists inside the output roots and is writable (probed with a temporary file; never created).',
      args: { outputDirectory: t.arg.string({ required: true, validate: { schema: z.string().min(1).max(4096) } }) },
      resolve: (_r: unknown, a: { outputDirectory: string }, ctx: GraphQLContext) => api(ctx).validateOutputDir(a.outputDirectory),
    }),
  }));

  builder.subscriptionField('trainingJobProgress', (t: any) =>
    t.field({
      type: Job,
      description: 'The job now, then on every status, progress, epoch or loss change; completes when it ends.',
      args: { id: idArg(t) },
      subscribe: (_r: unknown, a: { id: string }, ctx: GraphQLContext) => watchJob(ctx, api(ctx), a.id),
      resolve: (job: TrainingJob) => job,
    }),
  );
}

async function* watchJob(ctx: GraphQLContext, service: TrainingService, id: string): AsyncGenerator<TrainingJob> {
  const job = service.job(id);
  const updates = ctx.subscribe<JobProgressEvent>(service.topic);
  const ended = (j: TrainingJob) => j.status === 'completed' || j.status === 'failed' || j.status === 'cancelled';
  try {
    yield { ...job };
    if (ended(job)) return;
    for await (const event of updates) {
      if (event.job.id !== id) continue;
      yield { ...event.job };
      if (ended(event.job)) return;
    }
  } finally {
    await updates.return?.();
  }
}
