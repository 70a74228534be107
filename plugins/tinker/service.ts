import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  BackplaneError,
  confinePath,
  ConflictError,
  InputError,
  isBackplaneError,
  NotFoundError,
  z,
  type DatabaseService,
  type GpuService,
  type Logger,
  type PubSubService,
} from '../../core/plugin-api.ts';
import type { TinkerConfig } from './config.ts';
import { TinkerCheckpointEntity, TinkerModelEntity, TinkerSamplerEntity, TinkerSessionEntity } from './entities.ts';
import type { TinkerCheckpointRow, TinkerModelRow, TinkerSamplerRow, TinkerSessionRow } from './entities.ts';
import { FutureStore, type FailureCategory, type FutureRecord } from './futures.ts';
import { ModelQueue, type OrderedOp } from './model-queue.ts';
import { SampleLane } from './sample-lane.ts';
import { deleteRow, loadRows, upsertRow } from './store.ts';
import { checkpointFile, confinedCheckpointFile, formatTinkerPath, isSegment, parseTinkerPath, type CheckpointKind, type TinkerPath } from './tinker-path.ts';
import {
  adamParamsInput,
  inputTokens,
  loraConfigInput,
  modelInputInput,
  normaliseForward,
  normaliseSamplingParams,
  parseWire,
  payloadHash,
  samplingParamsInput,
} from './wire.ts';
import { WorkerPool } from './worker-pool.ts';
import type { WorkerProcess } from './worker-process.ts';

/** The LoRA settings of a model as stored and sent to workers. */
export interface LoraSettings {
  rank: number;
  alpha?: number;
  seed?: number;
  train_mlp: boolean;
  train_attn: boolean;
  train_unembed: boolean;
}

export interface TinkerSession {
  id: string;
  status: 'active' | 'expired';
  tags: string[];
  userMetadata: Record<string, unknown> | null;
  sdkVersion: string | null;
  createdAt: Date;
  lastHeartbeatAt: Date;
  /** (model_seq_id → model id), for idempotent create_model. */
  modelSeqs: Map<number, string>;
  samplerSeqs: Map<number, string>;
}

export type ModelStatus = 'creating' | 'ready' | 'restoring' | 'failed' | 'deleted' | 'lost';

export interface TinkerModel {
  id: string;
  sessionId: string | null;
  modelSeqId: number | null;
  baseModel: string;
  lora: LoraSettings;
  status: ModelStatus;
  message: string | null;
  userMetadata: Record<string, unknown> | null;
  lastSeqId: number;
  step: number;
  lastLoss: number | null;
  parameters: number | null;
  trainableParameters: number | null;
  createdAt: Date;
  updatedAt: Date;
  queue: ModelQueue;
  /** Sampling the live weights by `model_id` (the seed's asample): a lane beside the queue. */
  liveLane: SampleLane;
  vocabSize?: number;
  tokenizer?: Record<string, unknown>;
  info?: Record<string, unknown>;
  /** Resolves when the model can run ops (after create, after a restore). */
  ready: Promise<void>;
  /** Loss accumulated by forward_backward since the last optim_step (for the metrics subscription). */
  pendingLoss: number;
  pendingWeight: number;
}

export interface TinkerSampler {
  id: string;
  sessionId: string | null;
  seqId: number | null;
  baseModel: string;
  modelPath: string | null;
  sourceModelId: string | null;
  status: 'creating' | 'ready' | 'failed' | 'deleted' | 'lost';
  message: string | null;
  createdAt: Date;
  lane: SampleLane;
  /** The weights it serves: a checkpoint file (null: the base model). */
  file: string | null;
  lora: LoraSettings;
  ready: Promise<void>;
  seen: Map<number, { futureId: string; payloadHash: string }>;
}

export interface TinkerCheckpoint {
  path: string;
  modelId: string;
  kind: CheckpointKind;
  name: string;
  file: string;
  bytes: number;
  baseModel: string;
  lora: LoraSettings;
  step: number;
  createdAt: Date;
  expiresAt: Date | null;
}

/** A `tinkerTrainingMetrics` event: published after every optim_step (and forward_backward). */
export interface TrainingMetricsEvent {
  modelId: string;
  kind: 'forward_backward' | 'optim_step';
  step: number;
  seqId: number;
  /** `loss:sum` of the forward_backward, or of every forward_backward since the previous step. */
  loss: number;
  /** loss ÷ Σ weights for cross_entropy (mean NLL per weighted token), else null. */
  meanLoss: number | null;
  metrics: Record<string, number>;
  at: Date;
}

/** The answer of retrieve_future. */
export interface Retrieval {
  record: FutureRecord;
  queueState: 'active' | 'paused_capacity';
  queueStateReason: string | null;
}

const sessionBody = z.looseObject({
  tags: z.array(z.string().max(200)).max(100).default([]),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  sdk_version: z.string().max(100).nullish(),
  project_id: z.string().max(200).nullish(),
  type: z.string().optional(),
});
const sessionRef = z.looseObject({ session_id: z.string().min(1).max(256) });
const modelRef = z.looseObject({ model_id: z.string().min(1).max(256) });
const seqField = z.number().int().nonnegative().nullish();

const createModelBody = z.looseObject({
  session_id: z.string().min(1).max(256).nullish(),
  model_seq_id: z.number().int().nonnegative().nullish(),
  base_model: z.string().min(1).max(200).nullish(),
  model_name: z.string().min(1).max(200).nullish(),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  lora_config: z.unknown().optional(),
  checkpoint_path: z.string().min(1).max(1000).nullish(),
  seed: z.number().int().nullish(),
});

const samplingSessionBody = z.looseObject({
  session_id: z.string().min(1).max(256),
  sampling_session_seq_id: z.number().int().nonnegative().nullish(),
  base_model: z.string().min(1).max(200).nullish(),
  model_path: z.string().min(1).max(1000).nullish(),
});

const sampleBody = z.looseObject({
  sampling_session_id: z.string().min(1).max(256).nullish(),
  model_id: z.string().min(1).max(256).nullish(),
  seq_id: seqField,
  num_samples: z.number().int().min(1).max(1024).default(1),
  prompt: modelInputInput,
  sampling_params: samplingParamsInput.default({ temperature: 1, top_k: -1, top_p: 1 }),
  prompt_logprobs: z.boolean().nullish(),
  include_prompt_logprobs: z.boolean().nullish(),
  topk_prompt_logprobs: z.number().int().nonnegative().nullish(),
  base_model: z.string().min(1).max(200).nullish(),
  model_path: z.string().min(1).max(1000).nullish(),
});

const saveBody = z.looseObject({
  model_id: z.string().min(1).max(256),
  seq_id: seqField,
  path: z.string().min(1).max(100).nullish(),
  name: z.string().min(1).max(100).nullish(),
  ttl_seconds: z.number().int().positive().nullish(),
  overwrite: z.boolean().nullish(),
  sampling_session_seq_id: z.number().int().nonnegative().nullish(),
});

const loadBody = z.looseObject({
  model_id: z.string().min(1).max(256),
  seq_id: seqField,
  path: z.string().min(1).max(1000),
  optimizer: z.boolean().default(false),
});

const optimBody = z.looseObject({ model_id: z.string().min(1).max(256), seq_id: seqField, adam_params: z.unknown().optional() });

/** The training/sampling protocol state of the tinker plugin; resolvers reach it through `api(ctx)`. */
export class TinkerService {
  readonly metricsTopic = 'training-metrics';
  readonly futures: FutureStore;
  readonly #config: TinkerConfig;
  readonly #logger: Logger;
  readonly #db: DatabaseService;
  readonly #pubsub: PubSubService;
  readonly #checkpointRoot: string;
  readonly #samplerRoot: string;
  readonly #pool: WorkerPool;
  readonly #sessions = new Map<string, TinkerSession>();
  readonly #models = new Map<string, TinkerModel>();
  readonly #samplers = new Map<string, TinkerSampler>();
  readonly #checkpoints = new Map<string, TinkerCheckpoint>();
  /** Implicit samplers of asample calls that name only a base model or a path. */
  readonly #implicitSamplers = new Map<string, string>();
  readonly #startedAt = new Date();

  constructor(deps: { config: TinkerConfig; logger: Logger; db: DatabaseService; pubsub: PubSubService; gpus: GpuService; dataDir: string; socketDir: () => Promise<string> }) {
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#db = deps.db;
    this.#pubsub = deps.pubsub;
    this.#checkpointRoot = path.join(deps.dataDir, 'checkpoints');
    this.#samplerRoot = path.join(deps.dataDir, 'samplers');
    this.futures = new FutureStore({ db: deps.db, logger: deps.logger });
    this.#pool = new WorkerPool({ config: deps.config, logger: deps.logger, gpus: deps.gpus, socketDir: deps.socketDir, onWorker: (w) => this.#watchWorker(w) });
  }

  get checkpointRoot(): string {
    return this.#checkpointRoot;
  }

  /** Loads what a previous daemon stored: sessions, checkpoints, futures; its models' weights are gone. */
  async start(): Promise<void> {
    await mkdir(this.#checkpointRoot, { recursive: true });
    await mkdir(this.#samplerRoot, { recursive: true });
    for (const row of await loadRows<TinkerSessionRow>(this.#db, TinkerSessionEntity)) {
      this.#sessions.set(row.id, { id: row.id, status: row.status === 'expired' ? 'expired' : 'active', tags: row.tags ?? [], userMetadata: row.userMetadata ?? null, sdkVersion: row.sdkVersion ?? null, createdAt: row.createdAt, lastHeartbeatAt: row.lastHeartbeatAt, modelSeqs: new Map(), samplerSeqs: new Map() });
    }
    for (const row of await loadRows<TinkerCheckpointRow>(this.#db, TinkerCheckpointEntity)) {
      this.#checkpoints.set(row.path, { path: row.path, modelId: row.modelId, kind: row.kind as CheckpointKind, name: row.name, file: row.file, bytes: Number(row.bytes), baseModel: row.baseModel, lora: row.loraConfig as unknown as LoraSettings, step: Number(row.step), createdAt: row.createdAt, expiresAt: row.expiresAt ?? null });
    }
    for (const row of await loadRows<TinkerModelRow>(this.#db, TinkerModelEntity)) {
      const model = this.#newModel({ id: row.id, sessionId: row.sessionId ?? null, modelSeqId: row.modelSeqId == null ? null : Number(row.modelSeqId), baseModel: row.baseModel, lora: row.loraConfig as unknown as LoraSettings, userMetadata: row.userMetadata ?? null });
      Object.assign(model, { lastSeqId: Number(row.lastSeqId), step: Number(row.step), lastLoss: row.lastLoss ?? null, parameters: row.parameters ?? null, trainableParameters: row.trainableParameters ?? null, createdAt: row.createdAt, updatedAt: row.updatedAt, status: row.status as ModelStatus, message: row.message ?? null });
      if (model.status !== 'deleted' && model.status !== 'failed' && model.status !== 'lost') {
        model.status = 'lost';
        model.message = 'The daemon restarted and this model’s weights were in its worker; create a model from a checkpoint (checkpoint_path or load_weights) to continue.';
        await this.#saveModel(model);
      }
      model.ready = Promise.reject(new NotFoundError(`Model ${model.id} is ${model.status}`));
      model.ready.catch(() => undefined);
      this.#models.set(model.id, model);
      if (model.sessionId && model.modelSeqId !== null) this.#sessions.get(model.sessionId)?.modelSeqs.set(model.modelSeqId, model.id);
    }
    for (const row of await loadRows<TinkerSamplerRow>(this.#db, TinkerSamplerEntity)) {
      const sampler = this.#newSampler({ id: row.id, sessionId: row.sessionId ?? null, seqId: row.seqId == null ? null : Number(row.seqId), baseModel: row.baseModel, modelPath: row.modelPath ?? null, sourceModelId: row.sourceModelId ?? null, file: null, lora: defaultLora() });
      sampler.createdAt = row.createdAt;
      sampler.status = row.status === 'deleted' ? 'deleted' : 'lost';
      sampler.message = sampler.status === 'lost' ? 'The daemon restarted; create a new sampling session.' : (row.message ?? null);
      sampler.ready = Promise.reject(new NotFoundError(`Sampler ${sampler.id} is ${sampler.status}`));
      sampler.ready.catch(() => undefined);
      this.#samplers.set(sampler.id, sampler);
      if (row.status !== sampler.status) await this.#saveSampler(sampler);
    }
    const lost = await this.futures.load();
    if (lost > 0) this.#logger.warn('tinker futures failed by the restart', { count: lost });
  }

  async stop(): Promise<void> {
    await this.#pool.stopAll();
    await this.futures.flush();
  }

  // ---------------------------------------------------------------- sessions

  async createSession(body: unknown): Promise<Record<string, unknown>> {
    const input = parseWire(sessionBody, body);
    const now = new Date();
    const session: TinkerSession = { id: `session-${randomUUID()}`, status: 'active', tags: input.tags, userMetadata: input.user_metadata ?? null, sdkVersion: input.sdk_version ?? null, createdAt: now, lastHeartbeatAt: now, modelSeqs: new Map(), samplerSeqs: new Map() };
    this.#sessions.set(session.id, session);
    await this.#saveSession(session);
    return { session_id: session.id, type: 'create_session', info_message: null, warning_message: null, error_message: null };
  }

  async heartbeat(body: unknown): Promise<Record<string, unknown>> {
    const session = this.#session(parseWire(sessionRef, body).session_id);
    if (session.status === 'expired') throw new NotFoundError(`Session ${session.id} expired (no heartbeat for ${this.#config.sessionExpirySeconds} s); its models were released`);
    session.lastHeartbeatAt = new Date();
    await this.#saveSession(session);
    return { type: 'session_heartbeat' };
  }

  listSessions(limit = 20, offset = 0): TinkerSession[] {
    return [...this.#sessions.values()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).slice(offset, offset + limit);
  }

  getSession(id: string): TinkerSession | undefined {
    return this.#sessions.get(id);
  }

  sessionModels(id: string): TinkerModel[] {
    return [...this.#models.values()].filter((m) => m.sessionId === id);
  }

  sessionSamplers(id: string): TinkerSampler[] {
    return [...this.#samplers.values()].filter((s) => s.sessionId === id);
  }

  /** Expires sessions without a heartbeat for `sessionExpirySeconds`, releasing their models and samplers. */
  async expireSessions(now = Date.now()): Promise<number> {
    let expired = 0;
    for (const session of this.#sessions.values()) {
      if (session.status !== 'active' || now - session.lastHeartbeatAt.getTime() <= this.#config.sessionExpirySeconds * 1000) continue;
      session.status = 'expired';
      expired++;
      await this.#saveSession(session);
      for (const model of this.sessionModels(session.id)) if (model.status !== 'deleted') await this.#removeModel(model, 'released because its session expired');
      for (const sampler of this.sessionSamplers(session.id)) if (sampler.status !== 'deleted') await this.#removeSampler(sampler, 'released because its session expired');
      this.#logger.info('tinker session expired', { session: session.id });
    }
    return expired;
  }

  // ---------------------------------------------------------------- models

  capabilities(): Record<string, unknown> {
    return {
      supported_models: this.#config.supportedModels.map((m) => ({ model_name: m.model_name, ...(m.max_context_length ? { max_context_length: m.max_context_length } : {}) })),
      features: ['lora', 'full_finetune', 'sampling', 'prompt_logprobs', 'cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro'],
      max_batch_size: 1024,
    };
  }

  createModel(body: unknown): Record<string, unknown> {
    const input = parseWire(createModelBody, body);
    const baseModel = input.base_model ?? input.model_name;
    if (!baseModel) throw new InputError('base_model: required (or model_name)');
    if (!this.#config.supportedModels.some((m) => m.model_name === baseModel)) {
      throw new InputError(`base_model: '${baseModel}' is not served here (supported: ${this.#config.supportedModels.map((m) => m.model_name).join(', ')})`);
    }
    const session = input.session_id ? this.#session(input.session_id) : undefined;
    if (session?.status === 'expired') throw new NotFoundError(`Session ${session.id} expired`);
    let checkpoint: TinkerCheckpoint | undefined;
    if (input.checkpoint_path) checkpoint = this.#checkpointForLoad(input.checkpoint_path, 'checkpoint_path');
    const lora = this.#loraFrom(input.lora_config, checkpoint, input.seed ?? undefined);
    if (checkpoint && checkpoint.baseModel !== baseModel) throw new InputError(`checkpoint_path: the checkpoint is of ${checkpoint.baseModel}, not ${baseModel}`);
    const hash = payloadHash({ baseModel, lora, checkpoint: checkpoint?.path ?? null });
    if (session && input.model_seq_id != null) {
      const existing = session.modelSeqs.get(input.model_seq_id);
      if (existing) {
        const prior = this.futures.list({ modelId: existing }).find((f) => f.kind === 'create_model');
        if (prior && prior.payloadHash === hash) return { request_id: prior.id, model_id: existing, message: 'Model creation started' };
        throw new ConflictError(`model_seq_id ${input.model_seq_id} was already used in session ${session.id} for a different model`);
      }
    }
    const model = this.#newModel({ id: `model-${randomUUID()}`, sessionId: session?.id ?? null, modelSeqId: input.model_seq_id ?? null, baseModel, lora, userMetadata: input.user_metadata ?? null });
    this.#models.set(model.id, model);
    if (session && input.model_seq_id != null) session.modelSeqs.set(input.model_seq_id, model.id);
    const future = this.futures.create({ kind: 'create_model', modelId: model.id, sessionId: session?.id ?? null, payloadHash: hash });
    let markReady!: () => void;
    let markFailed!: (e: unknown) => void;
    model.ready = new Promise<void>((resolve, reject) => ((markReady = resolve), (markFailed = reject)));
    model.ready.catch(() => undefined);
    void (async () => {
      try {
        await this.#saveModel(model);
        this.futures.running(future.id);
        const worker = await this.#pool.assign(model.id);
        await this.#loadIntoWorker(model, worker, checkpoint ? await this.#confined(checkpoint.file) : undefined);
        model.status = 'ready';
        model.updatedAt = new Date();
        await this.#saveModel(model);
        markReady();
        this.futures.complete(future.id, { model_id: model.id, type: 'create_model', status: 'ready' });
      } catch (error) {
        model.status = 'failed';
        model.message = errorMessage(error);
        await this.#saveModel(model).catch(() => undefined);
        await this.#pool.release(model.id).catch(() => undefined);
        markFailed(new NotFoundError(`Model ${model.id} failed to start: ${model.message}`));
        this.#failFuture(future.id, error);
      }
    })();
    return { request_id: future.id, model_id: model.id, message: 'Model creation started' };
  }

  getModel(id: string): TinkerModel | undefined {
    return this.#models.get(id);
  }

  listModels(sessionId?: string): TinkerModel[] {
    return [...this.#models.values()].filter((m) => sessionId === undefined || m.sessionId === sessionId);
  }

  async getInfo(body: unknown): Promise<Record<string, unknown>> {
    const model = await this.#readyModel(parseWire(modelRef, body).model_id);
    const info = model.info ?? {};
    const modelData = (info.model_data as Record<string, unknown> | undefined) ?? {};
    return {
      ...info,
      type: 'get_info',
      model_id: model.id,
      model_data: { arch: 'tinylm', ...modelData, model_name: model.baseModel, model_id: model.id, lora_rank: model.lora.rank, created_at: model.createdAt.toISOString() },
      is_lora: model.lora.rank > 0,
      lora_rank: model.lora.rank,
      model_name: model.baseModel,
    };
  }

  async tokenizer(modelId: string): Promise<Record<string, unknown>> {
    const model = await this.#readyModel(modelId);
    const t = model.tokenizer ?? {};
    return {
      tokenizer_type: t.kind === 'byte' ? 'byte' : 'HuggingFace',
      vocab_size: t.vocab_size,
      model_max_length: this.#config.supportedModels.find((m) => m.model_name === model.baseModel)?.max_context_length ?? null,
      bos_token_id: t.bos_token_id,
      eos_token_id: t.eos_token_id,
      pad_token_id: t.pad_token_id,
      special_tokens: { bos: '<bos>', eos: '<eos>', pad: '<pad>', unk: null },
      hf_checkpoint: null,
      kind: t.kind,
    };
  }

  /** SDK `unload_model`: a future; the model's worker (and GPU lease) is freed. */
  unloadModel(body: unknown): Record<string, unknown> {
    const model = this.#model(parseWire(modelRef, body).model_id);
    const future = this.futures.create({ kind: 'unload_model', modelId: model.id });
    void this.#removeModel(model, 'unloaded').then(
      () => this.futures.complete(future.id, { model_id: model.id, type: 'unload_model' }),
      (error) => this.#failFuture(future.id, error),
    );
    return { request_id: future.id, model_id: model.id };
  }

  /** The seed's `delete_model`: synchronous. */
  async deleteModel(body: unknown): Promise<Record<string, unknown>> {
    const model = this.#model(parseWire(modelRef, body).model_id);
    await this.#removeModel(model, 'deleted');
    return { status: 'deleted', model_id: model.id };
  }

  // ---------------------------------------------------------------- training ops

  submitForward(body: unknown, backward: boolean): Record<string, unknown> {
    const ref = parseWire(z.looseObject({ model_id: z.string().min(1).max(256), seq_id: seqField }), body);
    const model = this.#model(ref.model_id);
    const op = normaliseForward(body as Record<string, unknown>, backward ? 'forward_backward_input' : 'forward_input', model.vocabSize);
    const kind = backward ? 'forward_backward' : 'forward';
    return this.#submit(model, kind, ref.seq_id ?? undefined, op, async (worker, seqId) => {
      const result = await worker.request(kind, { model_id: model.id, seq_id: seqId, ...op });
      const metrics = suffixMetrics(result.metrics);
      if (backward) {
        const loss = metrics['loss:sum'] ?? 0;
        model.pendingLoss += loss;
        const weight = op.loss_fn === 'cross_entropy' ? op.data.reduce((s, d) => s + (d.loss_fn_inputs.weights?.data.reduce((a, b) => a + Math.abs(b), 0) ?? 0), 0) : 0;
        model.pendingWeight += weight;
        this.#publishMetrics(model, { kind: 'forward_backward', seqId, loss, meanLoss: weight > 0 ? loss / weight : null, metrics });
      }
      return { ...result, metrics };
    });
  }

  submitOptimStep(body: unknown): Record<string, unknown> {
    const input = parseWire(optimBody, body);
    const model = this.#model(input.model_id);
    const adam = parseWire(adamParamsInput, input.adam_params ?? {}, 'adam_params');
    return this.#submit(model, 'optim_step', input.seq_id ?? undefined, { adam_params: adam }, async (worker, seqId) => {
      const result = await worker.request('optim_step', { model_id: model.id, seq_id: seqId, adam_params: adam });
      model.step++;
      const loss = model.pendingLoss;
      const meanLoss = model.pendingWeight > 0 ? loss / model.pendingWeight : null;
      model.lastLoss = meanLoss ?? loss;
      model.pendingLoss = 0;
      model.pendingWeight = 0;
      const metrics = suffixMetrics(result.metrics ?? {});
      this.#publishMetrics(model, { kind: 'optim_step', seqId, loss, meanLoss, metrics });
      return { metrics, learning_rates: [adam.learning_rate], step_count: model.step, type: 'optim_step' };
    });
  }

  submitSaveWeights(body: unknown): Record<string, unknown> {
    const input = parseWire(saveBody, body);
    const model = this.#model(input.model_id);
    const name = this.#checkpointName(input.path ?? input.name ?? null, 'path');
    return this.#submit(model, 'save_weights', input.seq_id ?? undefined, { name, ttl: input.ttl_seconds ?? null, overwrite: input.overwrite ?? false }, async (worker, seqId) => {
      const ckpt = await this.#saveCheckpoint(model, worker, { modelId: model.id, kind: 'weights', name: name ?? `step-${model.step}-seq-${seqId}` }, input.overwrite ?? false, input.ttl_seconds ?? null);
      return { path: ckpt.path, tinker_path: ckpt.path, type: 'save_weights' };
    });
  }

  submitSaveWeightsForSampler(body: unknown): Record<string, unknown> {
    const input = parseWire(saveBody, body);
    const model = this.#model(input.model_id);
    const name = this.#checkpointName(input.path ?? input.name ?? null, 'path');
    // No name (the SDK's save_weights_and_get_sampling_client): sync a sampler, write no checkpoint.
    const ephemeral = name === null;
    return this.#submit(model, 'save_weights_for_sampler', input.seq_id ?? undefined, { name, ephemeral, seq: input.sampling_session_seq_id ?? null }, async (worker, seqId) => {
      if (ephemeral) {
        const sampler = this.#newSampler({ id: `sampler-${randomUUID()}`, sessionId: model.sessionId, seqId: input.sampling_session_seq_id ?? null, baseModel: model.baseModel, modelPath: null, sourceModelId: model.id, file: path.join(this.#samplerRoot, `${randomUUID()}.bwpt`), lora: model.lora });
        await worker.request('save_weights', { model_id: model.id, path: sampler.file!, kind: 'sampler' });
        this.#samplers.set(sampler.id, sampler);
        await this.#startSampler(sampler);
        return { path: null, sampling_session_id: sampler.id, type: 'save_weights_for_sampler' };
      }
      const ckpt = await this.#saveCheckpoint(model, worker, { modelId: model.id, kind: 'sampler_weights', name: name ?? `sampler-${seqId}` }, input.overwrite ?? false, input.ttl_seconds ?? null);
      return { path: ckpt.path, tinker_path: ckpt.path, sampling_session_id: null, type: 'save_weights_for_sampler' };
    });
  }

  submitLoadWeights(body: unknown): Record<string, unknown> {
    const input = parseWire(loadBody, body);
    const model = this.#model(input.model_id);
    const ckpt = this.#checkpointForLoad(input.path, 'path');
    if (ckpt.baseModel !== model.baseModel) throw new InputError(`path: the checkpoint is of ${ckpt.baseModel}, this model of ${model.baseModel}`);
    assertSameLora(ckpt.lora, model.lora, 'path');
    if (input.optimizer && ckpt.kind !== 'weights') throw new InputError('optimizer: sampler_weights checkpoints hold no optimizer state; load a weights/ checkpoint');
    return this.#submit(model, 'load_weights', input.seq_id ?? undefined, { path: ckpt.path, optimizer: input.optimizer }, async (worker) => {
      await worker.request('load_weights', { model_id: model.id, path: await this.#confined(ckpt.file), optimizer: input.optimizer });
      if (input.optimizer) model.step = ckpt.step;
      return { path: ckpt.path, type: 'load_weights' };
    });
  }

  weightsInfo(body: unknown): Record<string, unknown> {
    const input = parseWire(z.looseObject({ tinker_path: z.string().min(1).max(1000).nullish(), path: z.string().min(1).max(1000).nullish() }), body);
    const value = input.tinker_path ?? input.path;
    if (!value) throw new InputError('tinker_path: required');
    const parsed = parseTinkerPath(value, input.tinker_path ? 'tinker_path' : 'path');
    const ckpt = this.#checkpoints.get(formatTinkerPath(parsed));
    if (!ckpt) throw new NotFoundError(`Checkpoint ${value} not found`);
    return {
      exists: true,
      base_model: ckpt.baseModel,
      is_lora: ckpt.lora.rank > 0,
      lora_rank: ckpt.lora.rank,
      train_mlp: ckpt.lora.train_mlp,
      train_attn: ckpt.lora.train_attn,
      train_unembed: ckpt.lora.train_unembed,
      created_at: ckpt.createdAt.toISOString(),
    };
  }

  // ---------------------------------------------------------------- samplers

  async createSamplingSession(body: unknown): Promise<Record<string, unknown>> {
    const input = parseWire(samplingSessionBody, body);
    const session = this.#session(input.session_id);
    if (session.status === 'expired') throw new NotFoundError(`Session ${session.id} expired`);
    if (input.sampling_session_seq_id != null) {
      const existing = session.samplerSeqs.get(input.sampling_session_seq_id);
      if (existing) {
        await this.#samplers.get(existing)?.ready;
        return { sampling_session_id: existing, type: 'create_sampling_session' };
      }
    }
    const sampler = this.#samplerFor(input.base_model ?? null, input.model_path ?? null, session.id, input.sampling_session_seq_id ?? null);
    if (input.sampling_session_seq_id != null) session.samplerSeqs.set(input.sampling_session_seq_id, sampler.id);
    await sampler.ready;
    return { sampling_session_id: sampler.id, type: 'create_sampling_session' };
  }

  getSampler(id: string): TinkerSampler | undefined {
    return this.#samplers.get(id);
  }

  listSamplers(sessionId?: string): TinkerSampler[] {
    return [...this.#samplers.values()].filter((s) => sessionId === undefined || s.sessionId === sessionId);
  }

  /** `asample`: a future on the sampler's own lane. */
  submitSample(body: unknown): Record<string, unknown> {
    const { target, request, hash, seqId } = this.#sampleRequest(body);
    const owner = target.sampler;
    const live = target.model;
    if (owner && seqId !== undefined) {
      const seen = owner.seen.get(seqId);
      if (seen) {
        if (seen.payloadHash === hash) return { request_id: seen.futureId };
        throw new ConflictError(`seq_id ${seqId} was already used for a different sample request on this sampler`);
      }
    }
    const lane = owner ? owner.lane : live!.liveLane;
    lane.check();
    const future = this.futures.create({ kind: 'sample', samplerId: owner?.id ?? null, modelId: live ? live.id : null, seqId: seqId ?? null, payloadHash: hash });
    if (owner && seqId !== undefined) owner.seen.set(seqId, { futureId: future.id, payloadHash: hash });
    void lane
      .run(async () => {
        this.futures.running(future.id);
        const worker = owner ? await this.#samplerWorker(owner) : await this.#modelWorker(live!);
        const result = await worker.request('sample', { ...request, model_id: owner ? owner.id : live!.id });
        return {
          type: 'sample',
          sequences: result.sequences.map((s) => ({ tokens: s.tokens, logprobs: s.logprobs, stop_reason: s.stop_reason, finish_reason: s.stop_reason })),
          prompt_logprobs: result.prompt_logprobs ?? null,
          topk_prompt_logprobs: null,
        };
      })
      .then(
        (result: unknown) => this.futures.complete(future.id, result),
        (error: unknown) => this.#failFuture(future.id, error),
      );
    return { request_id: future.id };
  }

  /** The seed's synchronous `POST /api/v1/sample`. */
  async sample(body: unknown, signal?: AbortSignal): Promise<unknown> {
    const { request_id } = this.submitSample(body) as { request_id: string };
    for (;;) {
      const record = await this.futures.wait(request_id, 30_000, signal);
      if (!record || signal?.aborted) throw new BackplaneError('TIMEOUT', 'the client went away');
      if (record.state === 'complete') return record.result;
      if (record.state === 'failed') throw record.category === 'user' ? new InputError(record.error ?? 'sample failed') : new BackplaneError('BACKEND_ERROR', record.error ?? 'sample failed');
    }
  }

  // ---------------------------------------------------------------- futures

  /** Long-polls a future for up to `waitMs`. */
  async retrieve(requestId: string, waitMs: number, signal?: AbortSignal): Promise<Retrieval> {
    if (!this.futures.get(requestId)) throw new NotFoundError(`Future ${requestId} not found`);
    const record = (await this.futures.wait(requestId, Math.min(waitMs, this.#config.longPollSeconds * 1000), signal))!;
    const model = record.modelId ? this.#models.get(record.modelId) : undefined;
    const waitingFor = model?.queue.waitingFor ?? null;
    let reason: string | null = null;
    if (record.state === 'pending' || record.state === 'running') {
      reason = waitingFor !== null ? `waiting for seq_id ${waitingFor} of model ${model!.id}` : record.state === 'running' ? 'running' : 'queued';
    }
    return { record, queueState: 'active', queueStateReason: reason };
  }

  async cleanupFutures(maxAgeHours?: number): Promise<number> {
    return this.futures.cleanup({
      deliveredTtlMs: this.#config.futureRetentionSeconds * 1000,
      undeliveredTtlMs: this.#config.undeliveredRetentionSeconds * 1000,
      maxAgeMs: maxAgeHours === undefined ? undefined : maxAgeHours * 3_600_000,
    });
  }

  // ---------------------------------------------------------------- checkpoints

  listCheckpoints(modelId?: string): TinkerCheckpoint[] {
    return [...this.#checkpoints.values()].filter((c) => modelId === undefined || c.modelId === modelId).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async deleteCheckpoint(tinkerPath: string): Promise<boolean> {
    const key = formatTinkerPath(parseTinkerPath(tinkerPath));
    const ckpt = this.#checkpoints.get(key);
    if (!ckpt) return false;
    const file = await confinedCheckpointFile(this.#checkpointRoot, parseTinkerPath(key)).catch(() => undefined);
    if (file) await rm(file, { force: true });
    this.#checkpoints.delete(key);
    await deleteRow(this.#db, TinkerCheckpointEntity, 'path', key);
    return true;
  }

  /** Deletes checkpoints whose `ttl_seconds` ran out. */
  async expireCheckpoints(now = Date.now()): Promise<number> {
    let n = 0;
    for (const ckpt of [...this.#checkpoints.values()]) {
      if (ckpt.expiresAt && ckpt.expiresAt.getTime() <= now && (await this.deleteCheckpoint(ckpt.path))) n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- health

  workers(): { worker: WorkerProcess; units: string[] }[] {
    return this.#pool.list();
  }

  /** The worker process of a model or sampler (tests and the benchmark use it). */
  workerOf(unitId: string): WorkerProcess | undefined {
    return this.#pool.workerOf(unitId);
  }

  health(): Record<string, unknown> {
    return {
      status: 'healthy',
      version: '1.0.0',
      ray_status: 'not_used',
      active_models: [...this.#models.values()].filter((m) => m.status === 'ready' || m.status === 'creating' || m.status === 'restoring').length,
      active_sessions: [...this.#sessions.values()].filter((s) => s.status === 'active').length,
      workers: this.#pool.list().length,
      started_at: this.#startedAt.toISOString(),
    };
  }

  // ---------------------------------------------------------------- internals

  #submit(model: TinkerModel, kind: string, givenSeq: number | undefined, payload: unknown, run: (worker: WorkerProcess, seqId: number) => Promise<unknown>): Record<string, unknown> {
    if (model.status === 'deleted' || model.status === 'failed' || model.status === 'lost') throw new NotFoundError(`Model ${model.id} is ${model.status}${model.message ? `: ${model.message}` : ''}`);
    const seqId = givenSeq ?? model.queue.nextAutoSeq();
    const hash = payloadHash({ kind, payload });
    const outcome = model.queue.check(seqId, hash);
    if (outcome.duplicate) return { request_id: outcome.futureId, model_id: model.id };
    const future = this.futures.create({ kind, modelId: model.id, sessionId: model.sessionId, seqId, payloadHash: hash });
    const op: OrderedOp = {
      seqId,
      futureId: future.id,
      payloadHash: hash,
      kind,
      run: async () => {
        const record = this.futures.get(future.id);
        if (!record || record.state === 'failed') return;
        try {
          const worker = await this.#modelWorker(model);
          this.futures.running(future.id);
          const result = await run(worker, seqId);
          model.lastSeqId = seqId;
          model.updatedAt = new Date();
          this.futures.complete(future.id, result);
          if (kind === 'optim_step' || kind === 'load_weights') void this.#saveModel(model).catch(() => undefined);
        } catch (error) {
          this.#failFuture(future.id, error);
        }
      },
    };
    model.queue.add(op);
    return { request_id: future.id, model_id: model.id };
  }

  async #modelWorker(model: TinkerModel): Promise<WorkerProcess> {
    await model.ready;
    const worker = this.#pool.workerOf(model.id);
    if (!worker) throw new NotFoundError(`Model ${model.id} is ${model.status}`);
    return worker;
  }

  async #samplerWorker(sampler: TinkerSampler): Promise<WorkerProcess> {
    await sampler.ready;
    const worker = this.#pool.workerOf(sampler.id);
    if (!worker) throw new NotFoundError(`Sampler ${sampler.id} is ${sampler.status}`);
    return worker;
  }

  async #loadIntoWorker(model: TinkerModel, worker: WorkerProcess, checkpointFilePath: string | undefined): Promise<void> {
    const created = await worker.request('create_model', {
      model_id: model.id,
      base_model: model.baseModel,
      lora_config: { rank: model.lora.rank, ...(model.lora.alpha !== undefined ? { alpha: model.lora.alpha } : {}), train_mlp: model.lora.train_mlp, train_attn: model.lora.train_attn, train_unembed: model.lora.train_unembed, ...(model.lora.seed !== undefined ? { seed: model.lora.seed } : {}) },
      ...(model.lora.seed !== undefined ? { seed: model.lora.seed } : {}),
      ...(checkpointFilePath ? { checkpoint_path: checkpointFilePath } : {}),
    });
    model.parameters = created.parameters;
    model.trainableParameters = created.trainable_parameters;
    const [tokenizer, info] = await Promise.all([worker.request('tokenizer_info', { model_id: model.id }), worker.request('get_info', { model_id: model.id })]);
    model.tokenizer = tokenizer as unknown as Record<string, unknown>;
    model.vocabSize = tokenizer.vocab_size;
    model.info = info as Record<string, unknown>;
  }

  #watchWorker(worker: WorkerProcess): void {
    worker.on('crash', (reason) => {
      for (const unitId of this.#pool.unitsOf(worker.id)) {
        const message = `The worker process crashed (${reason}); this request was lost. The worker is being restarted.`;
        const model = this.#models.get(unitId);
        if (model && (model.status === 'ready' || model.status === 'restoring')) {
          for (const op of model.queue.drain()) this.futures.fail(op.futureId, message, 'server');
          for (const f of this.futures.unsettled(model.id)) if (f.kind !== 'create_model') this.futures.fail(f.id, message, 'server');
          model.status = 'restoring';
          model.message = `worker crashed: ${reason}`;
          model.pendingLoss = 0;
          model.pendingWeight = 0;
          model.ready = worker.ready().then(() => undefined);
          model.ready.catch(() => undefined);
          void this.#saveModel(model).catch(() => undefined);
        }
        const sampler = this.#samplers.get(unitId);
        if (sampler && sampler.status === 'ready') {
          for (const f of this.futures.unsettled(sampler.id)) this.futures.fail(f.id, message, 'server');
          sampler.ready = worker.ready().then(() => undefined);
          sampler.ready.catch(() => undefined);
        }
      }
    });
    worker.on('restarted', () => {
      for (const unitId of this.#pool.unitsOf(worker.id)) {
        const model = this.#models.get(unitId);
        if (model && model.status === 'restoring') {
          const last = this.listCheckpoints(model.id).filter((c) => c.kind === 'weights').at(-1);
          let done!: () => void;
          let failed!: (e: unknown) => void;
          model.ready = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)));
          model.ready.catch(() => undefined);
          (last ? this.#confined(last.file) : Promise.resolve(undefined)).then((file) => this.#loadIntoWorker(model, worker, file)).then(
            () => {
              model.status = 'ready';
              model.message = last ? `restored from ${last.path} after a worker crash` : 'the worker crashed and no training checkpoint was saved: weights and optimizer state were reset to the initial ones';
              if (last) model.step = last.step;
              void this.#saveModel(model).catch(() => undefined);
              done();
            },
            (error) => {
              model.status = 'failed';
              model.message = `could not restore after a worker crash: ${errorMessage(error)}`;
              void this.#saveModel(model).catch(() => undefined);
              failed(new NotFoundError(`Model ${model.id} failed: ${model.message}`));
            },
          );
        }
        const sampler = this.#samplers.get(unitId);
        if (sampler && sampler.status === 'ready') {
          sampler.ready = this.#createSamplerModel(sampler, worker);
          sampler.ready.catch(() => undefined);
        }
      }
    });
  }

  async #saveCheckpoint(model: TinkerModel, worker: WorkerProcess, p: TinkerPath, overwrite: boolean, ttlSeconds: number | null): Promise<TinkerCheckpoint> {
    const key = formatTinkerPath(p);
    if (this.#checkpoints.has(key) && !overwrite) throw new ConflictError(`Checkpoint ${key} exists; pass overwrite: true to replace it`);
    const file = checkpointFile(this.#checkpointRoot, p);
    await mkdir(path.dirname(file), { recursive: true });
    const saved = await worker.request('save_weights', { model_id: model.id, path: file, kind: p.kind === 'weights' ? 'training' : 'sampler' });
    const bytes = saved.bytes ?? (await stat(file)).size;
    const ckpt: TinkerCheckpoint = { path: key, modelId: model.id, kind: p.kind, name: p.name, file, bytes, baseModel: model.baseModel, lora: model.lora, step: model.step, createdAt: new Date(), expiresAt: ttlSeconds ? new Date(Date.now() + ttlSeconds * 1000) : null };
    this.#checkpoints.set(key, ckpt);
    await upsertRow(this.#db, TinkerCheckpointEntity, 'path', { path: ckpt.path, modelId: ckpt.modelId, kind: ckpt.kind, name: ckpt.name, file: ckpt.file, bytes: ckpt.bytes, baseModel: ckpt.baseModel, loraConfig: ckpt.lora, step: ckpt.step, createdAt: ckpt.createdAt, expiresAt: ckpt.expiresAt });
    return ckpt;
  }

  /** A checkpoint's file resolved through symlinks, still inside the checkpoint directory, right before a worker reads it. */
  #confined(file: string): Promise<string> {
    return confinePath(file, [this.#checkpointRoot], { what: 'Checkpoint file', rootsLabel: 'checkpoint directory' });
  }

  #checkpointName(value: string | null, field: string): string | null {
    if (value === null) return null;
    if (value.startsWith('tinker://')) return parseTinkerPath(value, field).name;
    if (!isSegment(value)) throw new InputError(`${field}: a checkpoint name is one path segment of letters, digits, '.', '_' and '-' (at most 100), got '${value.slice(0, 100)}'`);
    return value;
  }

  /** A checkpoint named by a `tinker://` path, or by its file's path inside the checkpoint directory. */
  #checkpointForLoad(value: string, field: string): TinkerCheckpoint {
    if (value.startsWith('tinker://')) {
      const parsed = parseTinkerPath(value, field);
      const ckpt = this.#checkpoints.get(formatTinkerPath(parsed));
      if (!ckpt) throw new NotFoundError(`Checkpoint ${value} not found`);
      return ckpt;
    }
    if (!path.isAbsolute(value)) throw new InputError(`${field}: expected a tinker:// path or an absolute path inside ${this.#checkpointRoot}`);
    const resolved = path.resolve(value);
    if (!resolved.startsWith(`${this.#checkpointRoot}${path.sep}`)) throw new InputError(`${field}: ${value} is outside the checkpoint directory ${this.#checkpointRoot}`);
    const ckpt = [...this.#checkpoints.values()].find((c) => c.file === resolved);
    if (!ckpt) throw new NotFoundError(`Checkpoint file ${value} not found`);
    return ckpt;
  }

  #loraFrom(raw: unknown, checkpoint: TinkerCheckpoint | undefined, seed: number | undefined): LoraSettings {
    if (raw === undefined || raw === null) {
      if (checkpoint) return { ...checkpoint.lora };
      raw = {};
    }
    const parsed = parseWire(loraConfigInput, raw, 'lora_config');
    const lora: LoraSettings = {
      rank: parsed.rank,
      train_mlp: parsed.train_mlp,
      train_attn: parsed.train_attn,
      train_unembed: parsed.train_unembed,
      ...(parsed.alpha !== undefined ? { alpha: parsed.alpha } : {}),
      ...(parsed.seed != null ? { seed: parsed.seed } : seed !== undefined ? { seed } : {}),
    };
    if (lora.rank > 0 && !lora.train_mlp && !lora.train_attn && !lora.train_unembed) throw new InputError('lora_config: at least one of train_mlp, train_attn, train_unembed must be true');
    if (checkpoint) assertSameLora(checkpoint.lora, lora, 'lora_config');
    return lora;
  }

  #samplerFor(baseModel: string | null, modelPath: string | null, sessionId: string | null, seqId: number | null): TinkerSampler {
    let ckpt: TinkerCheckpoint | undefined;
    if (modelPath) ckpt = this.#checkpointForLoad(modelPath, 'model_path');
    const base = ckpt?.baseModel ?? baseModel;
    if (!base) throw new InputError('base_model: required when no model_path is given');
    if (!this.#config.supportedModels.some((m) => m.model_name === base)) throw new InputError(`base_model: '${base}' is not served here`);
    const sampler = this.#newSampler({ id: `sampler-${randomUUID()}`, sessionId, seqId, baseModel: base, modelPath: ckpt?.path ?? null, sourceModelId: ckpt?.modelId ?? null, file: ckpt?.file ?? null, lora: ckpt?.lora ?? defaultLora() });
    this.#samplers.set(sampler.id, sampler);
    void this.#startSampler(sampler).catch(() => undefined);
    return sampler;
  }

  async #startSampler(sampler: TinkerSampler): Promise<void> {
    sampler.ready = (async () => {
      await this.#saveSampler(sampler);
      try {
        const worker = await this.#pool.assign(sampler.id, `samplers:${sampler.sourceModelId ?? sampler.baseModel}`);
        await this.#createSamplerModel(sampler, worker);
        sampler.status = 'ready';
        await this.#saveSampler(sampler);
      } catch (error) {
        sampler.status = 'failed';
        sampler.message = errorMessage(error);
        await this.#saveSampler(sampler).catch(() => undefined);
        await this.#pool.release(sampler.id).catch(() => undefined);
        throw error;
      }
    })();
    sampler.ready.catch(() => undefined);
    return sampler.ready;
  }

  async #createSamplerModel(sampler: TinkerSampler, worker: WorkerProcess): Promise<void> {
    await worker.request('create_model', {
      model_id: sampler.id,
      base_model: sampler.baseModel,
      lora_config: { rank: sampler.lora.rank, ...(sampler.lora.alpha !== undefined ? { alpha: sampler.lora.alpha } : {}), train_mlp: sampler.lora.train_mlp, train_attn: sampler.lora.train_attn, train_unembed: sampler.lora.train_unembed, ...(sampler.lora.seed !== undefined ? { seed: sampler.lora.seed } : {}) },
      ...(sampler.file ? { checkpoint_path: sampler.file.startsWith(`${this.#samplerRoot}${path.sep}`) ? sampler.file : await this.#confined(sampler.file) } : {}),
    });
  }

  #sampleRequest(body: unknown) {
    const input = parseWire(sampleBody, body);
    if (input.topk_prompt_logprobs) throw new InputError('topk_prompt_logprobs: not supported by this server (prompt_logprobs is)');
    let target: { sampler: TinkerSampler; model?: undefined } | { model: TinkerModel; sampler?: undefined };
    if (input.sampling_session_id) {
      const sampler = this.#samplers.get(input.sampling_session_id);
      if (!sampler || sampler.status === 'deleted' || sampler.status === 'lost' || sampler.status === 'failed') throw new NotFoundError(`Sampling session ${input.sampling_session_id} not found${sampler ? ` (${sampler.status})` : ''}`);
      target = { sampler };
    } else if (input.model_id) {
      target = { model: this.#model(input.model_id) };
    } else if (input.base_model || input.model_path) {
      const key = input.model_path ? `path:${input.model_path}` : `base:${input.base_model}`;
      const known = this.#implicitSamplers.get(key);
      let sampler = known ? this.#samplers.get(known) : undefined;
      if (!sampler || sampler.status === 'failed' || sampler.status === 'deleted') {
        sampler = this.#samplerFor(input.base_model ?? null, input.model_path ?? null, null, null);
        this.#implicitSamplers.set(key, sampler.id);
      }
      target = { sampler };
    } else {
      throw new InputError('sampling_session_id: required (or model_id, base_model, model_path)');
    }
    const tokens = inputTokens(input.prompt, 'prompt');
    if (tokens.length === 0) throw new InputError('prompt: at least one token');
    const vocab = target.model?.vocabSize;
    if (vocab !== undefined) {
      const bad = tokens.findIndex((t) => t < 0 || t >= vocab);
      if (bad >= 0) throw new InputError(`prompt: token ${tokens[bad]} at position ${bad} is outside the vocabulary (0–${vocab - 1})`);
    }
    const request = {
      prompt_tokens: tokens,
      num_samples: input.num_samples,
      sampling_params: normaliseSamplingParams(input.sampling_params, 128),
      prompt_logprobs: input.prompt_logprobs ?? input.include_prompt_logprobs ?? false,
    };
    return { target, request, hash: payloadHash(request), seqId: input.seq_id ?? undefined };
  }

  #newModel(init: { id: string; sessionId: string | null; modelSeqId: number | null; baseModel: string; lora: LoraSettings; userMetadata: Record<string, unknown> | null }): TinkerModel {
    const now = new Date();
    const model: TinkerModel = {
      ...init,
      status: 'creating',
      message: null,
      lastSeqId: 0,
      step: 0,
      lastLoss: null,
      parameters: null,
      trainableParameters: null,
      createdAt: now,
      updatedAt: now,
      queue: undefined as unknown as ModelQueue,
      liveLane: new SampleLane({ concurrency: this.#config.maxConcurrentSamples, limit: this.#config.maxQueuedSamples }),
      ready: Promise.resolve(),
      pendingLoss: 0,
      pendingWeight: 0,
    };
    model.queue = new ModelQueue({ limit: this.#config.maxQueuedPerModel, gate: () => model.ready });
    return model;
  }

  #newSampler(init: { id: string; sessionId: string | null; seqId: number | null; baseModel: string; modelPath: string | null; sourceModelId: string | null; file: string | null; lora: LoraSettings }): TinkerSampler {
    return { ...init, status: 'creating', message: null, createdAt: new Date(), lane: new SampleLane({ concurrency: this.#config.maxConcurrentSamples, limit: this.#config.maxQueuedSamples }), ready: Promise.resolve(), seen: new Map() };
  }

  async #removeModel(model: TinkerModel, why: string): Promise<void> {
    if (model.status === 'deleted') return;
    const message = `The model was ${why} before this request ran.`;
    for (const op of model.queue.drain()) this.futures.fail(op.futureId, message, 'user');
    model.status = 'deleted';
    model.message = why;
    model.updatedAt = new Date();
    model.ready = Promise.reject(new NotFoundError(`Model ${model.id} was ${why}`));
    model.ready.catch(() => undefined);
    await this.#pool.workerOf(model.id)?.request('unload_model', { model_id: model.id }).catch(() => undefined);
    await this.#pool.release(model.id);
    await this.#saveModel(model);
  }

  async #removeSampler(sampler: TinkerSampler, why: string): Promise<void> {
    sampler.status = 'deleted';
    sampler.message = why;
    await this.#pool.release(sampler.id);
    if (sampler.file && sampler.file.startsWith(`${this.#samplerRoot}${path.sep}`)) await rm(sampler.file, { force: true });
    await this.#saveSampler(sampler);
  }

  #publishMetrics(model: TinkerModel, event: Omit<TrainingMetricsEvent, 'modelId' | 'step' | 'at'>): void {
    this.#pubsub.publish(this.metricsTopic, { ...event, modelId: model.id, step: model.step, at: new Date() } satisfies TrainingMetricsEvent);
  }

  #failFuture(id: string, error: unknown): void {
    const category: FailureCategory = isBackplaneError(error) && (error.code === 'BAD_USER_INPUT' || error.code === 'NOT_FOUND' || error.code === 'CONFLICT') ? 'user' : 'server';
    this.futures.fail(id, errorMessage(error), category);
  }

  #session(id: string): TinkerSession {
    const session = this.#sessions.get(id);
    if (!session) throw new NotFoundError(`Session ${id} not found`);
    return session;
  }

  #model(id: string): TinkerModel {
    const model = this.#models.get(id);
    if (!model || model.status === 'deleted') throw new NotFoundError(`Model ${id} not found`);
    return model;
  }

  async #readyModel(id: string): Promise<TinkerModel> {
    const model = this.#model(id);
    await model.ready;
    return model;
  }

  async #saveSession(s: TinkerSession): Promise<void> {
    await upsertRow(this.#db, TinkerSessionEntity, 'id', { id: s.id, status: s.status, tags: s.tags, userMetadata: s.userMetadata, sdkVersion: s.sdkVersion, createdAt: s.createdAt, lastHeartbeatAt: s.lastHeartbeatAt });
  }

  async #saveModel(m: TinkerModel): Promise<void> {
    await upsertRow(this.#db, TinkerModelEntity, 'id', {
      id: m.id,
      sessionId: m.sessionId,
      modelSeqId: m.modelSeqId,
      baseModel: m.baseModel,
      loraConfig: m.lora,
      status: m.status,
      message: m.message,
      userMetadata: m.userMetadata,
      lastSeqId: m.lastSeqId,
      step: m.step,
      lastLoss: m.lastLoss,
      parameters: m.parameters,
      trainableParameters: m.trainableParameters,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
    });
  }

  async #saveSampler(s: TinkerSampler): Promise<void> {
    await upsertRow(this.#db, TinkerSamplerEntity, 'id', { id: s.id, sessionId: s.sessionId, seqId: s.seqId, baseModel: s.baseModel, modelPath: s.modelPath, sourceModelId: s.sourceModelId, status: s.status, message: s.message, createdAt: s.createdAt });
  }
}

function defaultLora(): LoraSettings {
  return { rank: 0, train_mlp: true, train_attn: true, train_unembed: true };
}

function assertSameLora(have: LoraSettings, want: LoraSettings, field: string): void {
  for (const key of ['rank', 'train_mlp', 'train_attn', 'train_unembed'] as const) {
    if (have[key] !== want[key]) throw new InputError(`${field}: checkpoint ${key} is ${have[key]} but the model's ${key} is ${want[key]}`);
  }
}

/** Every metric key as `name:reduction` (the SDK's chunk combiner splits on ':'). */
export function suffixMetrics(metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) out[key.includes(':') ? key : `${key}:mean`] = value;
  return out;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
