/**
 * `train_job` and `validate_output` for the TinyLM worker (Model Training Manager jobs).
 *
 * - Dataset: a JSONL file of objects; a row's text is its `text` string, else its string values
 *   joined with "\n". Each row becomes `<bos> bytes <eos>`, truncated to `max_seq_length + 1`
 *   tokens (inputs are all but the last, targets all but the first).
 * - `qlora` / `unsloth`: LoRA with rank `lora_r`, alpha `lora_alpha` on E, W1 and W2;
 *   `standard`: rank 0 (full fine-tune). Rows are shuffled per epoch (mulberry32(seed + epoch)),
 *   batched by `batch_size`; each step is one forward_backward (cross_entropy with weights
 *   1/tokens-in-batch, so the loss is the batch's mean NLL) and one AdamW step (constant
 *   learning rate, β=(0.9,0.999), eps=1e-8 as HF Trainer). A `progress` notification follows
 *   every step; `cancel` is honoured between steps.
 * - Output (`output_dir`): `adapter.bwpt` (a sampler-kind checkpoint: all weights),
 *   `training_config.json`, `tokenizer.json`, `tokenizer_config.json`.
 * - `rag`: no training; every row is embedded with the base model (mean of h, L2-normalised)
 *   into `index.json` (+ `training_config.json`).
 *
 * @module
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { cancelledError, trainJobSpecSchema, userError, type Datum, type MethodContext, type MethodParams, type MethodResults } from '../protocol/index.ts';
import { adamwStep } from '../tiny/adamw.ts';
import { modelFromCheckpoint, readCheckpoint, saveCheckpoint } from '../tiny/checkpoint.ts';
import { embedText } from '../tiny/embeddings.ts';
import { TINY_BASE_MODELS, TinyLM, tinyConfig } from '../tiny/model.ts';
import { forwardBackward } from '../tiny/ops.ts';
import { mulberry32 } from '../tiny/rng.ts';
import { sample } from '../tiny/sampling.ts';
import { BOS, decode, encode, EOS, writeTokenizerFiles } from '../tiny/tokenizer.ts';

/** The `format` of `training_config.json`. */
export const TRAIN_OUTPUT_FORMAT = 'bwp-train-output/1';
/** The `format` of a rag `index.json`. */
export const RAG_INDEX_FORMAT = 'bwp-rag-index/1';

/** Checks `base_model` against what this worker serves (a user error otherwise). */
export function checkBaseModel(name: string): void {
  if (!(TINY_BASE_MODELS as readonly string[]).includes(name)) {
    throw userError(`unknown base_model ${JSON.stringify(name)}; the tiny worker serves: ${TINY_BASE_MODELS.join(', ')}`);
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The texts of a JSONL dataset (user errors name the bad line). */
export async function readDatasetTexts(file: string): Promise<string[]> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (error) {
    throw userError(`cannot read dataset ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const texts: string[] = [];
  raw.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw userError(`dataset line ${i + 1} is not JSON`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw userError(`dataset line ${i + 1} is not a JSON object`);
    const record = row as Record<string, unknown>;
    const text =
      typeof record.text === 'string' ? record.text : Object.values(record).filter((v): v is string => typeof v === 'string').join('\n');
    if (text !== '') texts.push(text);
  });
  if (texts.length === 0) throw userError(`dataset ${file} has no rows with text`);
  return texts;
}

function toDatum(text: string, maxSeqLength: number): { datum: Datum; tokens: number } {
  const seq = [BOS, ...encode(text), EOS].slice(0, maxSeqLength + 1);
  return {
    datum: {
      model_input: { chunks: [{ type: 'encoded_text', tokens: seq.slice(0, -1) }] },
      loss_fn_inputs: { target_tokens: { data: seq.slice(1), dtype: 'int64', shape: [seq.length - 1] } },
    },
    tokens: seq.length - 1,
  };
}

/** Runs a train_job (see the module doc). */
export async function runTrainJob(params: MethodParams['train_job'], ctx: MethodContext): Promise<MethodResults['train_job']> {
  const parsed = trainJobSpecSchema.safeParse(params.spec);
  if (!parsed.success) throw userError(`invalid spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const spec = parsed.data;
  checkBaseModel(spec.base_model);
  const texts = await readDatasetTexts(params.dataset_path);
  await mkdir(params.output_dir, { recursive: true });
  const started = Date.now();
  const meta = { format: TRAIN_OUTPUT_FORMAT, backend: 'tiny', job_id: params.job_id, base_model: spec.base_model, training_type: spec.training_type, spec };
  if (spec.training_type === 'rag') return ragIndex(params, ctx, texts, meta, spec.batch_size);

  const rank = spec.training_type === 'standard' ? 0 : spec.lora_r;
  const model = new TinyLM(tinyConfig({ rank, alpha: spec.lora_alpha }), spec.seed);
  const rows = texts.map((t) => toDatum(t, spec.max_seq_length));
  const perEpoch = Math.ceil(rows.length / spec.batch_size);
  const totalSteps = perEpoch * spec.epochs;
  const adam = { learning_rate: spec.learning_rate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, grad_clip_norm: 0 };
  let step = 0;
  let finalLoss: number | null = null;
  for (let epoch = 0; epoch < spec.epochs; epoch++) {
    const order = rows.map((_, i) => i);
    const rng = mulberry32(spec.seed + epoch);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let b = 0; b < perEpoch; b++) {
      if (ctx.signal.aborted) throw cancelledError(`train_job ${params.job_id} cancelled at step ${step}/${totalSteps}`);
      const t0 = Date.now();
      const batch = order.slice(b * spec.batch_size, (b + 1) * spec.batch_size).map((i) => rows[i]);
      const tokens = batch.reduce((n, r) => n + r.tokens, 0);
      const data = batch.map(({ datum, tokens: n }) => ({
        ...datum,
        loss_fn_inputs: { ...datum.loss_fn_inputs, weights: { data: new Array<number>(n).fill(1 / tokens), dtype: 'float32' as const, shape: [n] } },
      }));
      const out = await forwardBackward(model, data, 'cross_entropy', { backward: true });
      adamwStep(model, adam);
      step++;
      finalLoss = out.metrics['loss:sum'];
      const seconds = Math.max((Date.now() - t0) / 1000, 1e-3);
      ctx.progress({ step, total_steps: totalSteps, epoch: epoch + 1, loss: finalLoss, lr: adam.learning_rate, tokens_per_s: tokens / seconds, gpu_mem: null });
      // Let samples, cancels and heartbeats through between steps.
      await nextTick();
    }
  }
  const files = ['adapter.bwpt', 'training_config.json'];
  await saveCheckpoint(model, path.join(params.output_dir, 'adapter.bwpt'), 'sampler', spec.base_model);
  files.push(...(await writeTokenizerFiles(params.output_dir)));
  await writeJson(path.join(params.output_dir, 'training_config.json'), {
    ...meta,
    model_config: model.config,
    parameters: model.parameterCount,
    trainable_parameters: model.trainableCount,
    steps: step,
    final_loss: finalLoss,
    duration_s: (Date.now() - started) / 1000,
    files,
  });
  return { model_path: params.output_dir, final_loss: finalLoss, steps: step, files };
}

async function ragIndex(
  params: MethodParams['train_job'],
  ctx: MethodContext,
  texts: string[],
  meta: Record<string, unknown>,
  batchSize: number,
): Promise<MethodResults['train_job']> {
  const model = new TinyLM(tinyConfig({ rank: 0 }));
  const rows: Array<{ id: number; text: string; embedding: number[] }> = [];
  const totalSteps = Math.ceil(texts.length / batchSize);
  for (let step = 0; step < totalSteps; step++) {
    if (ctx.signal.aborted) throw cancelledError(`train_job ${params.job_id} cancelled at step ${step}/${totalSteps}`);
    for (let i = step * batchSize; i < Math.min(texts.length, (step + 1) * batchSize); i++) rows.push({ id: i, text: texts[i], embedding: embedText(model, texts[i]) });
    ctx.progress({ step: step + 1, total_steps: totalSteps, epoch: 1, loss: null, lr: 0, tokens_per_s: 0, gpu_mem: null });
    await nextTick();
  }
  const files = ['index.json', 'training_config.json'];
  await writeJson(path.join(params.output_dir, 'index.json'), { format: RAG_INDEX_FORMAT, base_model: meta.base_model, dim: model.config.H, metric: 'cosine', rows });
  await writeJson(path.join(params.output_dir, 'training_config.json'), { ...meta, rows: rows.length, dim: model.config.H, steps: totalSteps, final_loss: null, files });
  return { model_path: params.output_dir, final_loss: null, steps: totalSteps, files };
}

/** Loads what train_job wrote at `target` (its directory, or a file in it) and reports on it. */
export async function validateOutput(target: string): Promise<MethodResults['validate_output']> {
  const fail = (errors: string[], files: string[] = []) => ({ ok: false, model_name: null, parameters: null, files, errors });
  let dir = target;
  try {
    if (!(await stat(target)).isDirectory()) dir = path.dirname(target);
  } catch {
    return fail([`${target} does not exist`]);
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(path.join(dir, 'training_config.json'), 'utf8'));
  } catch (error) {
    return fail([`training_config.json is missing or not JSON (${(error as Error).message})`]);
  }
  const files = Array.isArray(config.files) ? (config.files as string[]) : [];
  const missing: string[] = [];
  for (const f of files) await stat(path.join(dir, f)).catch(() => missing.push(f));
  if (missing.length > 0) return fail(missing.map((f) => `${f} is missing`), files);
  const modelName = typeof config.base_model === 'string' ? config.base_model : null;
  if (config.training_type === 'rag') {
    try {
      const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { format?: string; dim: number; rows: Array<{ text: string; embedding: number[] }> };
      if (index.format !== RAG_INDEX_FORMAT || !Array.isArray(index.rows)) return fail(['index.json is not a bwp-rag-index/1 file'], files);
      return { ok: true, model_name: modelName, parameters: index.rows.length * index.dim, files, sample_text: index.rows[0]?.text.slice(0, 200) ?? '' };
    } catch (error) {
      return fail([`index.json is unreadable (${(error as Error).message})`], files);
    }
  }
  try {
    const model = modelFromCheckpoint(await readCheckpoint(path.join(dir, 'adapter.bwpt')));
    const out = await sample(model, [BOS], 1, { max_tokens: 64, temperature: 0, top_p: 1, top_k: -1, stop_token_ids: [EOS] }, false);
    return { ok: true, model_name: modelName, parameters: model.parameterCount, files, sample_text: decode(out.sequences[0].tokens) };
  } catch (error) {
    return fail([`adapter.bwpt does not load: ${(error as Error).message}`], files);
  }
}
