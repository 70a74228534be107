import { z, type Builder, type GraphQLContext, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { FutureRecord } from './futures.ts';
import type { Retrieval, TinkerCheckpoint, TinkerModel, TinkerSampler, TinkerService, TinkerSession, TrainingMetricsEvent } from './service.ts';
import type { WorkerProcess } from './worker-process.ts';

const idArg = { validate: { schema: z.string().min(1).max(256) } };

/**
 * The tinker plugin's GraphQL. Typed objects for dashboards (`tinkerSessions`, `tinkerModels`,
 * `tinkerSamplers`, `tinkerFutures`, `tinkerCheckpoints`, `tinkerWorkers`, the
 * `tinkerTrainingMetrics` subscription) and the Tinker wire operations the REST routes run
 * (`tinkerForwardBackward(body: JSON!)`, …), whose `body` and result are the Tinker JSON bodies.
 * Pure: no I/O here.
 */
export function addTinkerSchema(builder: Builder, { api }: SchemaHelpers<TinkerService>): void {
  const Lora = builder.objectRef<TinkerModel['lora']>('TinkerLoraConfig').implement({
    description: 'A model’s LoRA settings; rank 0 is a full fine-tune.',
    fields: (t) => ({
      rank: t.exposeInt('rank'),
      alpha: t.float({ description: 'Scale numerator (adapters are scaled by alpha/rank); 32 when unset.', resolve: (l) => l.alpha ?? 32 }),
      seed: t.int({ nullable: true, resolve: (l) => l.seed ?? null }),
      trainMlp: t.boolean({ resolve: (l) => l.train_mlp }),
      trainAttn: t.boolean({ resolve: (l) => l.train_attn }),
      trainUnembed: t.boolean({ resolve: (l) => l.train_unembed }),
    }),
  });

  const Checkpoint = builder.objectRef<TinkerCheckpoint>('TinkerCheckpoint').implement({
    description: 'A checkpoint file under the plugin’s data dir.',
    fields: (t) => ({
      path: t.exposeString('path', { description: '`tinker://<model_id>/{weights|sampler_weights}/<name>`.' }),
      modelId: t.exposeString('modelId'),
      kind: t.exposeString('kind', { description: '`weights` (weights + Adam state) or `sampler_weights`.' }),
      name: t.exposeString('name'),
      bytes: t.exposeFloat('bytes'),
      baseModel: t.exposeString('baseModel'),
      lora: t.field({ type: Lora, resolve: (c) => c.lora }),
      step: t.exposeInt('step', { description: 'optim_steps the weights had seen.' }),
      createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
      expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.expiresAt }),
    }),
  });

  const Model = builder.objectRef<TinkerModel>('TinkerModel').implement({
    description: 'A training model (`training_run_id`), held by a worker process.',
    fields: (t) => ({
      id: t.exposeString('id'),
      sessionId: t.exposeString('sessionId', { nullable: true }),
      baseModel: t.exposeString('baseModel'),
      lora: t.field({ type: Lora, resolve: (m) => m.lora }),
      status: t.exposeString('status', { description: '`creating`, `ready`, `restoring` (its worker crashed), `failed`, `deleted`, `lost` (the daemon restarted).' }),
      message: t.exposeString('message', { nullable: true }),
      step: t.exposeInt('step', { description: 'optim_steps applied.' }),
      lastSeqId: t.exposeInt('lastSeqId'),
      lastLoss: t.exposeFloat('lastLoss', { nullable: true, description: 'Loss of the last step: mean NLL per weighted token for cross_entropy, else the summed loss.' }),
      queued: t.int({ description: 'Operations waiting or running.', resolve: (m) => m.queue.depth }),
      waitingForSeqId: t.int({ nullable: true, description: 'The seq_id the queue waits for when later ones arrived first.', resolve: (m) => m.queue.waitingFor }),
      parameters: t.int({ nullable: true, resolve: (m) => m.parameters }),
      trainableParameters: t.int({ nullable: true, resolve: (m) => m.trainableParameters }),
      workerId: t.string({ nullable: true, resolve: (m, _a, ctx) => api(ctx).workerOf(m.id)?.id ?? null }),
      checkpoints: t.field({ type: [Checkpoint], resolve: (m, _a, ctx) => api(ctx).listCheckpoints(m.id) }),
      createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
      updatedAt: t.field({ type: 'DateTime', resolve: (m) => m.updatedAt }),
    }),
  });

  const Sampler = builder.objectRef<TinkerSampler>('TinkerSampler').implement({
    description: 'A sampling session: a frozen snapshot of weights on its own lane.',
    fields: (t) => ({
      id: t.exposeString('id'),
      sessionId: t.exposeString('sessionId', { nullable: true }),
      baseModel: t.exposeString('baseModel'),
      modelPath: t.exposeString('modelPath', { nullable: true }),
      sourceModelId: t.exposeString('sourceModelId', { nullable: true }),
      status: t.exposeString('status'),
      message: t.exposeString('message', { nullable: true }),
      active: t.int({ resolve: (s) => s.lane.active }),
      queued: t.int({ resolve: (s) => s.lane.queued }),
      createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    }),
  });

  const Session = builder.objectRef<TinkerSession>('TinkerSession').implement({
    description: 'A client session (an SDK ServiceClient).',
    fields: (t) => ({
      id: t.exposeString('id'),
      status: t.exposeString('status', { description: '`active` or `expired` (missed heartbeats; its models and samplers were released).' }),
      tags: t.exposeStringList('tags'),
      sdkVersion: t.exposeString('sdkVersion', { nullable: true }),
      userMetadata: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.userMetadata }),
      createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
      lastHeartbeatAt: t.field({ type: 'DateTime', resolve: (s) => s.lastHeartbeatAt }),
      models: t.field({ type: [Model], resolve: (s, _a, ctx) => api(ctx).sessionModels(s.id) }),
      samplers: t.field({ type: [Sampler], resolve: (s, _a, ctx) => api(ctx).sessionSamplers(s.id) }),
    }),
  });

  const Future = builder.objectRef<FutureRecord>('TinkerFuture').implement({
    description: 'An asynchronous request (`request_id`).',
    fields: (t) => ({
      id: t.exposeString('id'),
      kind: t.exposeString('kind'),
      modelId: t.exposeString('modelId', { nullable: true }),
      samplerId: t.exposeString('samplerId', { nullable: true }),
      seqId: t.exposeInt('seqId', { nullable: true }),
      state: t.exposeString('state', { description: '`pending`, `running`, `complete`, `failed`.' }),
      error: t.exposeString('error', { nullable: true }),
      category: t.exposeString('category', { nullable: true, description: '`user` or `server` for failures.' }),
      result: t.field({ type: 'JSON', nullable: true, resolve: (f) => f.result }),
      createdAt: t.field({ type: 'DateTime', resolve: (f) => f.createdAt }),
      completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (f) => f.completedAt }),
      deliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (f) => f.deliveredAt }),
    }),
  });

  const Retrieved = builder.objectRef<Retrieval>('TinkerFutureRetrieval').implement({
    description: 'A long-polled future: settled, or still pending after the wait.',
    fields: (t) => ({
      future: t.field({ type: Future, resolve: (r) => r.record }),
      queueState: t.exposeString('queueState'),
      queueStateReason: t.exposeString('queueStateReason', { nullable: true }),
    }),
  });

  const Worker = builder.objectRef<{ worker: WorkerProcess; units: string[] }>('TinkerWorker').implement({
    description: 'A worker process (bwp/1).',
    fields: (t) => ({
      id: t.string({ resolve: (w) => w.worker.id }),
      pid: t.int({ nullable: true, resolve: (w) => w.worker.pid }),
      status: t.string({ resolve: (w) => w.worker.status }),
      backend: t.string({ nullable: true, resolve: (w) => w.worker.hello?.backend ?? null }),
      restarts: t.int({ resolve: (w) => w.worker.restarts }),
      lastError: t.string({ nullable: true, resolve: (w) => w.worker.lastError }),
      gpus: t.intList({ resolve: (w) => w.worker.gpuIndices }),
      units: t.stringList({ description: 'Model and sampler ids it holds.', resolve: (w) => w.units }),
      startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (w) => w.worker.startedAt }),
    }),
  });

  const Metrics = builder.objectRef<TrainingMetricsEvent>('TinkerTrainingMetrics').implement({
    description: 'Loss after a training operation of one model.',
    fields: (t) => ({
      modelId: t.exposeString('modelId'),
      kind: t.exposeString('kind', { description: '`optim_step` (loss of every forward_backward since the previous step) or `forward_backward`.' }),
      step: t.exposeInt('step', { description: 'optim_steps applied so far.' }),
      seqId: t.exposeInt('seqId'),
      loss: t.exposeFloat('loss', { description: 'Summed loss (`loss:sum`).' }),
      meanLoss: t.exposeFloat('meanLoss', { nullable: true, description: 'loss ÷ Σ|weights| for cross_entropy: the mean NLL per weighted token.' }),
      metrics: t.field({ type: 'JSON', resolve: (e) => e.metrics }),
      at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    }),
  });

  builder.queryFields((t) => ({
    tinkerSessions: t.field({
      type: [Session],
      args: { limit: t.arg.int({ defaultValue: 20, validate: { schema: z.number().int().min(1).max(1000) } }), offset: t.arg.int({ defaultValue: 0, validate: { schema: z.number().int().min(0) } }) },
      resolve: (_r, { limit, offset }, ctx) => api(ctx).listSessions(limit ?? 20, offset ?? 0),
    }),
    tinkerSession: t.field({ type: Session, nullable: true, args: { id: t.arg.string({ required: true, ...idArg }) }, resolve: (_r, { id }, ctx) => api(ctx).getSession(id) ?? null }),
    tinkerModels: t.field({ type: [Model], args: { sessionId: t.arg.string(idArg) }, resolve: (_r, { sessionId }, ctx) => api(ctx).listModels(sessionId ?? undefined) }),
    tinkerModel: t.field({ type: Model, nullable: true, args: { id: t.arg.string({ required: true, ...idArg }) }, resolve: (_r, { id }, ctx) => api(ctx).getModel(id) ?? null }),
    tinkerSamplers: t.field({ type: [Sampler], args: { sessionId: t.arg.string(idArg) }, resolve: (_r, { sessionId }, ctx) => api(ctx).listSamplers(sessionId ?? undefined) }),
    tinkerSampler: t.field({ type: Sampler, nullable: true, args: { id: t.arg.string({ required: true, ...idArg }) }, resolve: (_r, { id }, ctx) => api(ctx).getSampler(id) ?? null }),
    tinkerFuture: t.field({ type: Future, nullable: true, args: { id: t.arg.string({ required: true, ...idArg }) }, resolve: (_r, { id }, ctx) => api(ctx).futures.get(id) ?? null }),
    tinkerFutures: t.field({
      type: [Future],
      description: 'Newest first.',
      args: {
        modelId: t.arg.string(idArg),
        state: t.arg.string({ validate: { schema: z.enum(['pending', 'running', 'complete', 'failed']) } }),
        limit: t.arg.int({ defaultValue: 100, validate: { schema: z.number().int().min(1).max(10_000) } }),
      },
      resolve: (_r, { modelId, state, limit }, ctx) => api(ctx).futures.list({ modelId: modelId ?? undefined, state: (state as FutureRecord['state'] | null) ?? undefined, limit: limit ?? 100 }),
    }),
    tinkerCheckpoints: t.field({ type: [Checkpoint], args: { modelId: t.arg.string(idArg) }, resolve: (_r, { modelId }, ctx) => api(ctx).listCheckpoints(modelId ?? undefined) }),
    tinkerWorkers: t.field({ type: [Worker], resolve: (_r, _a, ctx) => api(ctx).workers() }),
    tinkerRetrieveFuture: t.field({
      type: Retrieved,
      description: 'Waits up to `waitSeconds` (at most the configured long poll, ≤ 30 s) for the future to settle.',
      args: { requestId: t.arg.string({ required: true, ...idArg }), waitSeconds: t.arg.float({ defaultValue: 25, validate: { schema: z.number().min(0).max(30) } }) },
      resolve: async (_r, { requestId, waitSeconds }, ctx) => {
        const retrieval = await api(ctx).retrieve(requestId, (waitSeconds ?? 25) * 1000, ctx.rest?.signal);
        markDelivered(ctx, api(ctx), retrieval.record);
        return retrieval;
      },
    }),
    // The rest of the Tinker wire API that only reads.
    tinkerServerCapabilities: t.field({ type: 'JSON', resolve: (_r, _a, ctx) => api(ctx).capabilities() }),
    tinkerModelInfo: t.field({ type: 'JSON', description: 'Tinker `get_info` (body `{model_id}`).', args: { body: t.arg({ type: 'JSON', required: true }) }, resolve: (_r, { body }, ctx) => api(ctx).getInfo(body) }),
    tinkerTokenizer: t.field({ type: 'JSON', description: 'tinkercloud `get_tokenizer`.', args: { modelId: t.arg.string({ required: true, ...idArg }) }, resolve: (_r, { modelId }, ctx) => api(ctx).tokenizer(modelId) }),
    tinkerWeightsInfo: t.field({ type: 'JSON', description: 'Tinker `weights_info` (body `{tinker_path}` or `{path}`).', args: { body: t.arg({ type: 'JSON', required: true }) }, resolve: (_r, { body }, ctx) => api(ctx).weightsInfo(body) }),
    tinkerHealthDetails: t.field({ type: 'JSON', description: 'tinkercloud `GET /api/v1/health`.', resolve: (_r, _a, ctx) => api(ctx).health() }),
    tinkerHealth: t.field({
      type: 'JSON',
      description: 'Liveness for probes (`GET /health`, `/api/v1/healthz`): no key needed, no details.',
      extensions: { backplaneScope: 'public' },
      resolve: (_r, _a, ctx) => {
        api(ctx);
        return { status: 'healthy' };
      },
    }),
  }));

  // Wire mutations: `body` is the Tinker request body, the result its JSON reply.
  const wireMutations: Record<string, [string, (service: TinkerService, body: unknown, ctx: GraphQLContext) => unknown]> = {
    tinkerCreateSession: ['Tinker `create_session`.', (s, b) => s.createSession(b)],
    tinkerSessionHeartbeat: ['Tinker `session_heartbeat`.', (s, b) => s.heartbeat(b)],
    tinkerCreateSamplingSession: ['Tinker `create_sampling_session` (also tinkercloud `create_sampling_client`).', (s, b) => s.createSamplingSession(b)],
    tinkerCreateModel: ['Tinker `create_model`: a future resolving to `{model_id}`.', (s, b) => s.createModel(b)],
    tinkerUnloadModel: ['Tinker `unload_model`: a future; frees the model’s worker and GPU lease.', (s, b) => s.unloadModel(b)],
    tinkerDeleteModel: ['tinkercloud `delete_model`: synchronous.', (s, b) => s.deleteModel(b)],
    tinkerForward: ['Tinker `forward` (flat or nested `forward_input`): a future.', (s, b) => s.submitForward(b, false)],
    tinkerForwardBackward: ['Tinker `forward_backward` (flat or nested `forward_backward_input`): a future.', (s, b) => s.submitForward(b, true)],
    tinkerOptimStep: ['Tinker `optim_step` (AdamW): a future.', (s, b) => s.submitOptimStep(b)],
    tinkerSaveWeights: ['Tinker `save_weights` (save_state): a future resolving to `{path: tinker://…/weights/<name>}`.', (s, b) => s.submitSaveWeights(b)],
    tinkerSaveWeightsForSampler: ['Tinker `save_weights_for_sampler`: named (a file) or ephemeral (a synced sampler).', (s, b) => s.submitSaveWeightsForSampler(b)],
    tinkerLoadWeights: ['Tinker `load_weights`: a future.', (s, b) => s.submitLoadWeights(b)],
    tinkerAsample: ['Tinker `asample`: a future on the sampler’s own lane.', (s, b) => s.submitSample(b)],
    tinkerSample: ['tinkercloud synchronous `sample`.', (s, b, ctx) => s.sample(b, ctx.rest?.signal)],
    tinkerCleanupFutures: [
      'tinkercloud `cleanup_futures` (`{max_age_hours}`).',
      async (s, b) => {
        const hours = z.looseObject({ max_age_hours: z.number().min(0).optional() }).safeParse(b ?? {});
        const n = await s.cleanupFutures(hours.success ? hours.data.max_age_hours : undefined);
        return { cleaned_count: n, futures_cleaned: n, message: `Cleaned ${n} futures` };
      },
    ],
  };
  builder.mutationFields((t) =>
    Object.fromEntries(
      Object.entries(wireMutations).map(([name, [description, call]]) => [
        name,
        t.field({ type: 'JSON', description, args: { body: t.arg({ type: 'JSON', required: true }) }, resolve: (_r, { body }, ctx) => call(api(ctx), body, ctx) as never }),
      ]),
    ),
  );

  builder.mutationFields((t) => ({
    tinkerDeleteCheckpoint: t.boolean({
      description: 'Deletes a checkpoint file and its record; false when unknown.',
      args: { path: t.arg.string({ required: true, validate: { schema: z.string().min(1).max(300) } }) },
      resolve: (_r, { path }, ctx) => api(ctx).deleteCheckpoint(path),
    }),
    tinkerExpireSessions: t.int({ description: 'Expires sessions past their heartbeat deadline now (also runs on a schedule).', resolve: (_r, _a, ctx) => api(ctx).expireSessions() }),
  }));

  builder.subscriptionField('tinkerTrainingMetrics', (t) =>
    t.field({
      type: Metrics,
      description: 'Loss after each optim_step (and each forward_backward) of one model, for plotting.',
      args: { modelId: t.arg.string({ required: true, ...idArg }), includeForwardBackward: t.arg.boolean({ defaultValue: false }) },
      subscribe: (_r, { modelId, includeForwardBackward }, ctx) => watchMetrics(ctx, api(ctx), modelId, includeForwardBackward ?? false),
      resolve: (event) => event,
    }),
  );
}

/** The result reached a client that stayed connected: start its retention clock. */
function markDelivered(ctx: GraphQLContext, service: TinkerService, record: FutureRecord): void {
  if (record.state !== 'complete' && record.state !== 'failed') return;
  const exchange = ctx.rest;
  if (!exchange) return service.futures.delivered(record.id);
  exchange.onEnd(() => {
    if (!exchange.signal.aborted) service.futures.delivered(record.id);
  });
}

async function* watchMetrics(ctx: GraphQLContext, service: TinkerService, modelId: string, includeForwardBackward: boolean): AsyncGenerator<TrainingMetricsEvent> {
  const events = ctx.subscribe<TrainingMetricsEvent>(`tinker:${service.metricsTopic}`);
  try {
    for await (const event of events) {
      if (event.modelId !== modelId) continue;
      if (event.kind === 'forward_backward' && !includeForwardBackward) continue;
      yield event;
    }
  } finally {
    await events.return?.();
  }
}
