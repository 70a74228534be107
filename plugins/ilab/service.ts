import path from 'node:path';
import { BackendError, UnavailableError, type JobRecord, type Logger, type PluginServices } from '../../core/plugin-api.ts';
import { listCheckpoints, pickLatestCheckpoint, type IlabCheckpoint } from './checkpoints.ts';
import type { IlabConfig } from './config.ts';
import { removeWorktreeWhenDone, type IlabContext } from './context.ts';
import { startConvert } from './convert.ts';
import { startGenerate } from './generate.ts';
import { GpuActivity } from './gpu-reclaim.ts';
import { createIlabCli, mockModeMessage, type IlabCli } from './ilab-cli.ts';
import { parseConfigShow, type IlabReportedDirs } from './ilab-dirs.ts';
import { seedMockHome } from './mock/seed.ts';
import { createModelsCache, modelsRefreshedTopic, type ModelCacheState } from './models-cache.ts';
import { resolveIlabPaths } from './paths.ts';
import { resumePipeline, startPipeline, type PipelineInput } from './pipeline.ts';
import { convertProgress, generateProgress, qnaEvalProgress, serveProgress, trainProgress } from './progress.ts';
import { runQnaEval, startQnaEval, type QnaEvalInput, type QnaEvalResult } from './qna-eval.ts';
import { IlabServing, type ServedModel, type ServedName, type ServeOptions, type ServeResult } from './serving.ts';
import { parseDataList, type IlabDataset, type IlabModel } from './tables.ts';
import { Taxonomy } from './taxonomy.ts';
import { startTrain, type TrainInput } from './train.ts';

/** The plugin's runtime API: what resolvers reach through `api(ctx)`. */
export interface IlabApi {
  readonly mode: 'real' | 'mock';
  /** `ilab model list`, from the cache (see {@link ModelsCache.get}). */
  models(): Promise<IlabModel[]>;
  refreshModels(): Promise<IlabModel[]>;
  modelCache(): ModelCacheState;
  /** Each successful refresh's models. */
  modelUpdates(): AsyncIterableIterator<IlabModel[]>;
  /** `ilab data list`, run on every call. */
  datasets(): Promise<IlabDataset[]>;
  checkpoints(): Promise<IlabCheckpoint[]>;
  latestCheckpoint(): Promise<IlabCheckpoint | null>;
  generate(input: { branchName?: string | null }): Promise<JobRecord>;
  train(input: TrainInput): Promise<JobRecord>;
  pipeline(input: PipelineInput): Promise<JobRecord>;
  serveBase(options?: ServeOptions): Promise<ServeResult>;
  serveLatest(checkpoint?: string | null, options?: ServeOptions): Promise<ServeResult>;
  servedModels(): Promise<ServedModel[]>;
  /** One served name, as whatever serves it reports it. */
  servedModel(name: ServedName): Promise<ServedModel>;
  stopServing(name: ServedName): Promise<ServedModel>;
  startQnaEval(input: QnaEvalInput): Promise<JobRecord>;
  runQnaEval(input: QnaEvalInput): Promise<QnaEvalResult>;
  convert(input: { modelDir: string }): Promise<JobRecord>;
  /** A job of this plugin's, for payloads that carry a job id. */
  job(id: string): Promise<JobRecord | null>;
}

/**
 * Starts the plugin: resolves its directories, seeds the mock home (mock mode), schedules the
 * model cache, re-attaches to jobs a restart left running (progress parsers, the pipeline
 * resumer, worktree clean-up) and reports degraded, not failed, when `ilab` is missing, so the
 * API answers UNAVAILABLE until it appears.
 */
export async function createIlabService(services: PluginServices<IlabConfig>): Promise<IlabApi> {
  const { config, logger } = services;
  const defaults = resolveIlabPaths(config, services.dataDir);
  if (config.mode === 'mock') await seedMockHome(defaults, { processes: services.processes, logger, withTaxonomy: config.taxonomyDir === undefined });
  // In real mode only the working directory matters to the CLI, and it does not come from ilab.
  const cli = createIlabCli({ config, paths: defaults, services });
  const paths = config.mode === 'real' && config.dirsFromIlab ? resolveIlabPaths(config, services.dataDir, await readIlabDirs(cli, config, logger)) : defaults;
  // The vLLM backend (or any other) may then serve models from ilab's directories.
  services.serving.setModelRoots([paths.models, path.dirname(paths.checkpoints)]);
  const taxonomy = new Taxonomy({ processes: services.processes, repo: paths.taxonomy, worktrees: paths.worktrees });
  const models = createModelsCache({
    cli,
    scheduler: services.scheduler,
    pubsub: services.pubsub,
    schedule: config.modelCacheRefresh,
    maxAgeMs: config.modelCacheMaxAgeMs,
    timeoutMs: config.listTimeoutMs,
  });
  const ctx: IlabContext = {
    config,
    paths,
    cli,
    jobs: services.jobs,
    gpus: services.gpus,
    processes: services.processes,
    http: services.http,
    serving: services.serving,
    taxonomy,
    models,
    gpuActivity: new GpuActivity(services),
    logger,
    stopSignal: services.lifecycle.signal,
    baseLabels: config.mode === 'mock' ? { mode: 'mock' } : {},
  };
  const serving = new IlabServing(ctx);

  // Jobs re-adopted after a restart get their parser by kind; pipelines continue where they were.
  const parsers = { 'data-generate': generateProgress, train: trainProgress, serve: serveProgress, convert: convertProgress, 'qna-eval': qnaEvalProgress };
  for (const [kind, parser] of Object.entries(parsers)) services.jobs.registerProgressParser(kind, parser);
  services.jobs.registerGroupResumer('pipeline', (job) => resumePipeline(ctx, job));
  await cleanUpWorktrees(ctx);
  services.scheduler.schedule({ id: 'gpu-activity', everyMs: 10_000, timeoutMs: 5_000, run: async () => ctx.gpuActivity.sample() });

  if (config.mode === 'mock') services.status.setReady(mockModeMessage);
  else await cli.invocation([]).catch((error) => (error instanceof UnavailableError ? undefined : Promise.reject(error)));

  return {
    mode: config.mode,
    models: () => models.get(),
    refreshModels: () => models.refresh(),
    modelCache: () => models.state(),
    modelUpdates: () => services.pubsub.subscribe<IlabModel[]>(modelsRefreshedTopic),
    datasets: () => listDatasets(ctx),
    checkpoints: () => listCheckpoints(paths.checkpoints),
    latestCheckpoint: async () => pickLatestCheckpoint(await listCheckpoints(paths.checkpoints)) ?? null,
    generate: (input) => startGenerate(ctx, input),
    train: (input) => startTrain(ctx, input),
    pipeline: (input) => startPipeline(ctx, input),
    serveBase: (options) => serving.serveBase(options),
    serveLatest: (checkpoint, options) => serving.serveLatest(checkpoint, options),
    servedModels: () => serving.list(),
    servedModel: (name) => serving.status(name),
    stopServing: (name) => serving.stop(name),
    startQnaEval: (input) => startQnaEval(ctx, input),
    runQnaEval: (input) => runQnaEval(ctx, input),
    convert: (input) => startConvert(ctx, input),
    job: async (id) => (await ctx.jobs.get(id)) ?? null,
  };
}

/**
 * ilab's own directories from `ilab config show`; nothing (the defaults apply) when ilab is
 * missing or the command fails, which is logged.
 */
async function readIlabDirs(cli: IlabCli, config: IlabConfig, logger: Logger): Promise<IlabReportedDirs> {
  try {
    const result = await cli.run(['config', 'show'], { timeoutMs: Math.min(config.listTimeoutMs, 20_000) });
    if (result.failed) throw new Error(`exit code ${result.exitCode ?? result.signal}: ${(result.stderr || result.stdout).trim().slice(-500)}`);
    const dirs = parseConfigShow(result.stdout);
    logger.info('directories reported by ilab config show', { ...dirs });
    return dirs;
  } catch (error) {
    if (!(error instanceof UnavailableError)) logger.warn('ilab config show failed; using the directory defaults', { error: (error as Error).message });
    return {};
  }
}

/**
 * `ilab data list`. A failure answers with what ilab printed on stdout, its own message for users
 * (`Failed to list datasets with exception: …`), as the legacy server did; stderr (tracebacks)
 * only reaches the log.
 */
async function listDatasets(ctx: IlabContext): Promise<IlabDataset[]> {
  // Bytes that are not UTF-8 (file names) stay apart from U+FFFD: Go's encoder writes `\ufffd` for each.
  const result = await ctx.cli.run(['data', 'list'], { decode: 'surrogateescape' });
  if (result.error) throw result.stdout.trim() && !result.timedOut ? new BackendError(result.stdout, { cause: result.error, details: result.error.details }) : result.error;
  return parseDataList(result.stdout);
}

/**
 * Worktrees of jobs still running are removed when those jobs end; any other worktree is left
 * over from a daemon that stopped mid-job, and goes now.
 */
async function cleanUpWorktrees(ctx: IlabContext): Promise<void> {
  const active = [...(await ctx.jobs.list({ status: 'running' })), ...(await ctx.jobs.list({ status: 'queued' }))];
  const keep = new Set<string>();
  for (const job of active) {
    const token = job.labels.worktree;
    if (!token) continue;
    keep.add(token);
    removeWorktreeWhenDone(ctx, job.id, token);
  }
  try {
    const removed = await ctx.taxonomy.removeStale(keep);
    if (removed.length > 0) ctx.logger.info('removed stale taxonomy worktrees', { worktrees: removed });
  } catch (error) {
    ctx.logger.warn('could not clean up taxonomy worktrees', { error });
  }
}
