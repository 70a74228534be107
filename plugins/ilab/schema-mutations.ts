import { z, type Builder, type JobRecord, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { QnaEvalResult } from './qna-eval.ts';
import type { IlabApi } from './service.ts';
import { servedNames, type ServedModel, type ServedName, type ServeResult } from './serving.ts';
import type { IlabModel } from './tables.ts';

const modelName = z.string().min(1, 'expected a model name').max(4096, 'expected at most 4096 characters');
const branchName = z
  .string()
  .min(1, 'expected a branch name')
  .max(255, 'expected at most 255 characters')
  .refine((v) => !v.startsWith('-'), "a branch name must not start with '-'");
const epochs = z.number().int('expected a positive integer').positive('expected a positive integer').max(10_000, 'expected at most 10000');
const pathArg = z.string().min(1, 'expected a path').max(4096, 'expected at most 4096 characters');
const checkpoint = z.string().min(1, 'expected a checkpoint name').max(255, 'expected at most 255 characters');
const servedName = z.enum(servedNames, { error: `expected one of: ${servedNames.join(', ')}` });

declare const typeOnly: Builder;
/** The type of an implemented object ref of `T` (no value: type position only). */
export type IlabObjectRef<T> = ReturnType<ReturnType<typeof typeOnly.objectRef<T>>['implement']>;

interface Refs {
  IlabModelRef: IlabObjectRef<IlabModel>;
  IlabServedModelRef: IlabObjectRef<ServedModel>;
}

/** Mutations that start ilab work. Each returns the job id; follow it with core's `job`, `jobUpdated`, `jobLog`. */
export function addIlabMutations(builder: Builder, { api, refs }: SchemaHelpers<IlabApi>, { IlabModelRef, IlabServedModelRef }: Refs): void {
  const IlabJobStarted = builder.objectRef<JobRecord>('IlabJobStarted').implement({
    description: 'A job the ilab plugin started. Follow it with `job(id)`, `jobUpdated(id)` and `jobLog(id)`.',
    fields: (t) => ({
      jobId: t.exposeID('id', { description: '`g-…`, `t-…`, `p-…`, `ml-…`, `q-…` or `c-…`.' }),
      kind: t.exposeString('kind', { description: '`data-generate`, `train`, `pipeline`, `serve`, `qna-eval` or `convert`.' }),
      branch: t.string({ nullable: true, resolve: (j) => j.labels.branch ?? null }),
      mock: t.boolean({ description: 'Started in mock mode (the simulator, not ilab).', resolve: (j) => j.labels.mode === 'mock' }),
      job: t.field({ type: refs.Job, description: 'The job itself, as `job(id)` shows it.', resolve: (j) => j }),
    }),
  });

  const ServeStatus = builder.enumType('IlabServeStatus', { values: ['started', 'already_running'] as const });
  const IlabServeResult = builder.objectRef<ServeResult>('IlabServeResult').implement({
    fields: (t) => ({
      jobId: t.exposeID('jobId', { description: '`ml-…` (local) or the vLLM backend’s job (`v-…`).' }),
      // The vLLM backend's job belongs to its plugin: looked up daemon-wide, read-only.
      job: t.field({ type: refs.Job, nullable: true, resolve: async (r, _args, ctx) => (r.jobId ? ((await ctx.core.jobs.get(r.jobId)) ?? null) : null) }),
      status: t.field({ type: ServeStatus, resolve: (r) => r.status }),
      backend: t.exposeString('backend'),
      servedModelName: t.exposeString('servedModelName'),
      port: t.exposeInt('port'),
      modelPath: t.exposeString('modelPath'),
    }),
  });

  const QnaOutcome = builder.enumType('IlabQnaEvalOutcome', { values: ['succeeded', 'failed', 'cancelled', 'timedOut'] as const });
  const IlabQnaEvalResult = builder.objectRef<QnaEvalResult>('IlabQnaEvalResult').implement({
    fields: (t) => ({
      jobId: t.exposeID('jobId'),
      job: t.field({ type: refs.Job, nullable: true, resolve: (r, _args, ctx) => api(ctx).job(r.jobId) }),
      outcome: t.field({ type: QnaOutcome, resolve: (r) => r.outcome }),
      output: t.exposeString('output', { description: 'What the container printed (`Q1: …` / `A1: …`), or why it failed.' }),
    }),
  });

  builder.mutationField('refreshIlabModels', (t) =>
    t.field({ type: [IlabModelRef], description: 'Runs `ilab model list` now (joining a refresh already running).', resolve: (_r, _a, ctx) => api(ctx).refreshModels() }),
  );
  builder.mutationField('startIlabDataGenerate', (t) =>
    t.field({
      type: IlabJobStarted,
      description: '`ilab data generate` as a `g-` job, on a private worktree of `branchName` when given.',
      args: { branchName: t.arg.string({ validate: { schema: branchName } }) },
      resolve: (_r, args, ctx) => api(ctx).generate({ branchName: args.branchName }),
    }),
  );
  const trainArgs = (t: Parameters<Parameters<typeof builder.mutationField>[1]>[0]) => ({
    modelName: t.arg.string({ required: true, validate: { schema: modelName } }),
    branchName: t.arg.string({ required: true, validate: { schema: branchName } }),
    epochs: t.arg.int({ validate: { schema: epochs } }),
  });
  builder.mutationField('startIlabTrain', (t) =>
    t.field({ type: IlabJobStarted, description: '`ilab model train` as a `t-` job.', args: trainArgs(t), resolve: (_r, args, ctx) => api(ctx).train(args) }),
  );
  builder.mutationField('startIlabPipeline', (t) =>
    t.field({
      type: IlabJobStarted,
      description: 'Generate then train, as a `p-` job whose children are the `g-` and `t-` jobs.',
      args: {
        ...trainArgs(t),
        deferChecks: t.arg.boolean({
          description: 'Check the branch and the model inside the job: a bad one fails the pipeline with the reason in its log, not this mutation (the legacy route).',
        }),
      },
      resolve: (_r, args, ctx) => api(ctx).pipeline(args),
    }),
  );
  const restart = (t: Parameters<Parameters<typeof builder.mutationField>[1]>[0]) =>
    t.arg.boolean({ description: 'Replace a local server already serving this name, as the legacy routes do. A vLLM server keeps running (`already_running`).' });
  builder.mutationField('serveIlabBase', (t) =>
    t.field({ type: IlabServeResult, description: 'Serves the base model as `pre-train`.', args: { restart: restart(t) }, resolve: (_r, args, ctx) => api(ctx).serveBase({ restart: args.restart ?? false }) }),
  );
  builder.mutationField('serveIlabLatest', (t) =>
    t.field({
      type: IlabServeResult,
      description: 'Serves a checkpoint (the latest when none is named) as `post-train`.',
      args: { checkpoint: t.arg.string({ validate: { schema: checkpoint } }), restart: restart(t) },
      resolve: (_r, args, ctx) => api(ctx).serveLatest(args.checkpoint, { restart: args.restart ?? false }),
    }),
  );
  builder.mutationField('stopIlabServedModel', (t) =>
    t.field({
      type: IlabServedModelRef,
      description: 'Stops whatever serves the name (a local job, or the serving backend running it). NOT_FOUND when nothing does.',
      args: { name: t.arg.string({ required: true, validate: { schema: servedName } }) },
      resolve: (_r, args, ctx) => api(ctx).stopServing(args.name as ServedName),
    }),
  );
  const qnaArgs = (t: Parameters<Parameters<typeof builder.mutationField>[1]>[0]) => ({
    modelPath: t.arg.string({ required: true, validate: { schema: pathArg } }),
    yamlFile: t.arg.string({ required: true, validate: { schema: pathArg } }),
  });
  builder.mutationField('startIlabQnaEval', (t) =>
    t.field({ type: IlabJobStarted, description: 'The qna-eval container as a `q-` job.', args: qnaArgs(t), resolve: (_r, args, ctx) => api(ctx).startQnaEval(args) }),
  );
  builder.mutationField('runIlabQnaEval', (t) =>
    t.field({
      type: IlabQnaEvalResult,
      description: 'Runs the qna-eval job and waits for it, up to `qnaEval.timeoutMs` (then cancels it).',
      args: qnaArgs(t),
      resolve: (_r, args, ctx) => api(ctx).runQnaEval(args),
    }),
  );
  builder.mutationField('startIlabConvert', (t) =>
    t.field({
      type: IlabJobStarted,
      description: '`ilab model convert` as a `c-` job (FORBIDDEN unless `convert.enabled`).',
      args: { modelDir: t.arg.string({ required: true, validate: { schema: pathArg } }) },
      resolve: (_r, args, ctx) => api(ctx).convert(args),
    }),
  );
}
