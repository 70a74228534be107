/**
 * The bwp/1 method table of the TinyLM worker, for any number of models. One model's ops
 * (forward, forward_backward, optim_step, save/load_weights, introspection, unload) run one at a
 * time in arrival order; `sample` is never queued behind them (it reads a snapshot of the
 * weights, taken when it starts) and training ops yield to the event loop, so samples are
 * answered between training steps.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cancelledError, userError, type MethodContext, type MethodResults, type WorkerMethods } from '../protocol/index.ts';
import { adamwStep } from '../tiny/adamw.ts';
import { applyCheckpoint, modelFromCheckpoint, readCheckpoint, saveCheckpoint } from '../tiny/checkpoint.ts';
import { TinyLM, tinyConfig } from '../tiny/model.ts';
import { forwardBackward } from '../tiny/ops.ts';
import { sample } from '../tiny/sampling.ts';
import { tokenizerInfo, writeTokenizerFiles } from '../tiny/tokenizer.ts';
import { checkBaseModel, runTrainJob, validateOutput } from './train-job.ts';

interface Entry {
  model: TinyLM;
  baseModel: string;
  /** Tail of this model's op chain. */
  tail: Promise<unknown>;
}

let tokenizerDir: Promise<string> | undefined;
/** A directory with the HF tokenizer files (written once per process; same content every time). */
function tokenizerPath(): Promise<string> {
  tokenizerDir ??= (async () => {
    const dir = path.join(tmpdir(), 'backplane-tiny-tokenizer-v1');
    await writeTokenizerFiles(dir);
    return dir;
  })();
  return tokenizerDir;
}

function tensorsOf(model: TinyLM, source: Map<string, Float64Array>, names: Iterable<string>): MethodResults['get_weights'] {
  const tensors: MethodResults['get_weights']['tensors'] = {};
  for (const name of names) tensors[name] = { shape: model.shapes.get(name)!, data: Array.from(source.get(name)!) };
  return { tensors };
}

/** A fresh method table (its own model registry). */
export function createTinyMethods(): WorkerMethods {
  const models = new Map<string, Entry>();

  const entry = (modelId: string): Entry => {
    const e = models.get(modelId);
    if (!e) throw userError(`unknown model_id ${JSON.stringify(modelId)}`, { reason: 'not_found' });
    return e;
  };

  /**
   * Runs `op` after every earlier op of the model (a failed op does not block the next); an op
   * cancelled while it waits never starts.
   */
  const queued = <T>(modelId: string, ctx: MethodContext, op: (e: Entry) => T | Promise<T>): Promise<T> => {
    const e = entry(modelId);
    const run = e.tail.then(() => {
      if (ctx.signal.aborted) throw cancelledError('cancelled before it started');
      return op(e);
    });
    e.tail = run.catch(() => {});
    return run;
  };

  return {
    async create_model(params) {
      if (models.has(params.model_id)) throw userError(`model_id ${JSON.stringify(params.model_id)} already exists`);
      let model: TinyLM;
      if (params.checkpoint_path) {
        model = modelFromCheckpoint(await readCheckpoint(params.checkpoint_path));
      } else {
        checkBaseModel(params.base_model);
        model = new TinyLM(tinyConfig(params.lora_config), params.lora_config.seed ?? params.seed ?? 0);
      }
      models.set(params.model_id, { model, baseModel: params.base_model, tail: Promise.resolve() });
      return { model_id: params.model_id, parameters: model.parameterCount, trainable_parameters: model.trainableCount };
    },

    unload_model: (params, ctx) =>
      queued(params.model_id, ctx, () => {
        models.delete(params.model_id);
        return {};
      }),

    async get_info(params) {
      const { model, baseModel } = entry(params.model_id);
      const c = model.config;
      return {
        model_data: { model_name: baseModel, tokenizer_id: await tokenizerPath(), arch: 'tinylm' },
        lora_rank: c.rank,
        is_lora: c.rank > 0,
        lora_config: { rank: c.rank, alpha: c.alpha, train_mlp: c.train_mlp, train_attn: c.train_attn, train_unembed: c.train_unembed },
        step: model.step,
        parameters: model.parameterCount,
        trainable_parameters: model.trainableCount,
      };
    },

    tokenizer_info(params) {
      entry(params.model_id);
      return tokenizerInfo();
    },

    forward: (params, ctx) =>
      queued(params.model_id, ctx, (e) => forwardBackward(e.model, params.data, params.loss_fn, { backward: false, loss_fn_config: params.loss_fn_config })),

    forward_backward: (params, ctx) =>
      queued(params.model_id, ctx, (e) => forwardBackward(e.model, params.data, params.loss_fn, { backward: true, loss_fn_config: params.loss_fn_config })),

    optim_step: (params, ctx) => queued(params.model_id, ctx, (e) => ({ metrics: adamwStep(e.model, params.adam_params) })),

    save_weights: (params, ctx) =>
      queued(params.model_id, ctx, async (e) => {
        await mkdir(path.dirname(params.path), { recursive: true });
        const bytes = await saveCheckpoint(e.model, params.path, params.kind, e.baseModel);
        return { path: params.path, bytes };
      }),

    load_weights: (params, ctx) =>
      queued(params.model_id, ctx, async (e) => {
        applyCheckpoint(e.model, await readCheckpoint(params.path), params.optimizer);
        return {};
      }),

    async sample(params, ctx) {
      const { model } = entry(params.model_id);
      for (const t of params.prompt_tokens) if (t >= model.config.V) throw userError(`prompt token ${t} is outside the vocabulary (0..${model.config.V - 1})`);
      return sample(model, params.prompt_tokens, params.num_samples, params.sampling_params, params.prompt_logprobs, { signal: ctx.signal });
    },

    get_gradients: (params, ctx) =>
      queued(params.model_id, ctx, (e) => {
        e.model.materializeGrads();
        return tensorsOf(e.model, e.model.grads, e.model.trainable);
      }),

    get_weights: (params, ctx) => queued(params.model_id, ctx, (e) => tensorsOf(e.model, e.model.params, e.model.params.keys())),

    train_job: (params, ctx) => runTrainJob(params, ctx),

    validate_output: (params) => validateOutput(params.path),
  };
}

