import { createHash } from 'node:crypto';
import { InputError, z } from '../../core/plugin-api.ts';

/**
 * The Tinker wire bodies as the official SDK (JSON era, ≤ 0.24) and the tinkercloud seed send
 * them, validated and normalised to the one nested form the workers see (training-apis §2.13.6):
 * flat or nested `forward[_backward]_input`, `chunks | tokens | input_ids`, chunks without
 * `type`, plain lists or TensorData with any input dtype, lengths checked per field.
 */

/** The loss functions every worker implements (§2.6). */
export const lossFns = ['cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro'] as const;
export type LossFn = (typeof lossFns)[number];

const inputDtypes = ['int64', 'int32', 'float32', 'float64', 'bool'] as const;

/** zod issues → one 400 naming the field (`data[0].loss_fn_inputs.weights: …`). */
export function parseWire<T extends z.ZodType>(schema: T, value: unknown, what = 'body'): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = fieldPath(issue.path);
  throw new InputError(`${where || what}: ${issue.message}`, { details: { field: where || what } });
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

const id = z.string().min(1).max(256);
const intId = z.number().int().nonnegative();

/** A wire tensor: `{data, dtype?, shape?}` or a plain list. */
const tensorInput = z.union([
  z.array(z.union([z.number(), z.boolean(), z.array(z.number())])),
  z.object({
    data: z.array(z.union([z.number(), z.boolean(), z.array(z.number())])),
    dtype: z.string().optional(),
    shape: z.array(z.number().int().nonnegative()).optional(),
    sparse_crow_indices: z.unknown().optional(),
    sparse_col_indices: z.unknown().optional(),
  }),
]);

const chunkInput = z.looseObject({ type: z.string().optional(), tokens: z.array(z.number().int()).optional() });
const modelInputInput = z.union([
  z.array(z.number().int()),
  z.looseObject({ chunks: z.array(chunkInput).optional(), tokens: z.array(z.number().int()).optional(), input_ids: z.array(z.number().int()).optional() }),
]);

const datumInput = z.looseObject({ model_input: modelInputInput, loss_fn_inputs: z.record(z.string(), tensorInput).default({}) });

/** A tensor after normalisation: flat numbers with a wire dtype. */
export interface WireTensor {
  data: number[];
  dtype: 'int64' | 'float32';
  shape: number[];
}

/** One datum in the nested form the workers read. */
export interface NormalDatum {
  model_input: { chunks: { type: 'encoded_text'; tokens: number[] }[] };
  loss_fn_inputs: Record<string, WireTensor>;
}

/** Tokens of a model input: `chunks` (type defaults to `encoded_text`), `tokens` or `input_ids`. */
export function inputTokens(input: z.output<typeof modelInputInput>, field: string): number[] {
  if (Array.isArray(input)) return input;
  if (input.chunks) {
    const tokens: number[] = [];
    input.chunks.forEach((chunk, i) => {
      const type = chunk.type ?? 'encoded_text';
      if (type !== 'encoded_text') throw new InputError(`${field}.chunks[${i}].type: '${type}' chunks are not supported (only encoded_text)`);
      if (!chunk.tokens) throw new InputError(`${field}.chunks[${i}].tokens: required`);
      tokens.push(...chunk.tokens);
    });
    return tokens;
  }
  const tokens = input.tokens ?? input.input_ids;
  if (!tokens) throw new InputError(`${field}: expected chunks, tokens or input_ids`);
  return tokens;
}

const integerKeys = new Set(['target_tokens']);

function normaliseTensor(value: z.output<typeof tensorInput>, key: string, field: string): WireTensor {
  const body = Array.isArray(value) ? { data: value } : value;
  if (!Array.isArray(value) && (value.sparse_crow_indices !== undefined || value.sparse_col_indices !== undefined)) {
    throw new InputError(`${field}: sparse (CSR) tensors are not supported; send dense data`);
  }
  const dtype = Array.isArray(value) ? undefined : value.dtype;
  if (dtype !== undefined && !(inputDtypes as readonly string[]).includes(dtype)) {
    throw new InputError(`${field}.dtype: unknown dtype '${dtype}' (expected one of ${inputDtypes.join(', ')})`);
  }
  const nested = body.data.some((d) => Array.isArray(d));
  const shape = Array.isArray(value) ? undefined : value.shape;
  if (nested || (shape && shape.length > 1)) throw new InputError(`${field}: 2-D tensors (top-K targets) are not supported; send shape (N,)`);
  const data = (body.data as (number | boolean)[]).map((d) => (typeof d === 'boolean' ? (d ? 1 : 0) : d));
  if (shape && shape.length === 1 && shape[0] !== data.length) throw new InputError(`${field}.shape: [${shape[0]}] does not match ${data.length} data values`);
  const integer = integerKeys.has(key);
  if (integer) {
    if (dtype === 'float32' || dtype === 'float64') throw new InputError(`${field}.dtype: ${key} must be an integer dtype (int64), got ${dtype}`);
    const bad = data.findIndex((d) => !Number.isInteger(d) || d < 0);
    if (bad >= 0) throw new InputError(`${field}.data[${bad}]: token ids are non-negative integers`);
  } else {
    const bad = data.findIndex((d) => !Number.isFinite(d));
    if (bad >= 0) throw new InputError(`${field}.data[${bad}]: expected a finite number`);
  }
  return { data, dtype: integer ? 'int64' : 'float32', shape: [data.length] };
}

/** Inputs each loss reads; `mask` is accepted by all (0/1 weights). */
const lossInputs: Record<LossFn, { required: string[]; optional: string[] }> = {
  cross_entropy: { required: ['target_tokens'], optional: ['weights', 'mask'] },
  importance_sampling: { required: ['target_tokens', 'logprobs', 'advantages'], optional: ['mask'] },
  ppo: { required: ['target_tokens', 'logprobs', 'advantages'], optional: ['mask'] },
  cispo: { required: ['target_tokens', 'logprobs', 'advantages'], optional: ['mask'] },
  dro: { required: ['target_tokens', 'logprobs', 'advantages'], optional: ['mask'] },
};

/** `loss_fn_config` keys per loss, with defaults (ratio bounds are absolute, not ε). */
const lossConfigKeys: Record<LossFn, Record<string, number | undefined>> = {
  cross_entropy: {},
  importance_sampling: {},
  ppo: { clip_low_threshold: 0.8, clip_high_threshold: 1.2 },
  cispo: { clip_low_threshold: 0.8, clip_high_threshold: 1.2 },
  dro: { beta: 0.05 },
};

export interface NormalForward {
  data: NormalDatum[];
  loss_fn: LossFn;
  loss_fn_config?: Record<string, number>;
}

const forwardInput = z.looseObject({
  data: z.array(datumInput),
  loss_fn: z.string(),
  loss_fn_config: z.record(z.string(), z.number()).nullish(),
});

/**
 * A forward / forward_backward body, nested (`forward_backward_input`, `forward_input`) or flat
 * (`data`, `loss_fn` at the top). `vocabSize` bounds the token ids when known.
 */
export function normaliseForward(body: Record<string, unknown>, nestedKey: 'forward_input' | 'forward_backward_input', vocabSize?: number): NormalForward {
  const nested = body[nestedKey];
  const source = nested !== undefined && nested !== null ? nested : body;
  const prefix = nested !== undefined && nested !== null ? `${nestedKey}.` : '';
  const input = parseWireAt(forwardInput, source, prefix);
  if (!(lossFns as readonly string[]).includes(input.loss_fn)) {
    throw new InputError(`${prefix}loss_fn: unknown loss function '${input.loss_fn}' (expected one of ${lossFns.join(', ')})`);
  }
  const lossFn = input.loss_fn as LossFn;
  const spec = lossInputs[lossFn];
  const data = input.data.map((datum, i): NormalDatum => {
    const at = `${prefix}data[${i}]`;
    const tokens = inputTokens(datum.model_input, `${at}.model_input`);
    if (vocabSize !== undefined) {
      const bad = tokens.findIndex((t) => t < 0 || t >= vocabSize);
      if (bad >= 0) throw new InputError(`${at}.model_input: token ${tokens[bad]} at position ${bad} is outside the vocabulary (0–${vocabSize - 1})`);
    }
    const inputs: Record<string, WireTensor> = {};
    for (const [key, value] of Object.entries(datum.loss_fn_inputs)) {
      const field = `${at}.loss_fn_inputs.${key}`;
      if (!spec.required.includes(key) && !spec.optional.includes(key)) throw new InputError(`${field}: not an input of ${lossFn} (expected ${[...spec.required, ...spec.optional].join(', ')})`);
      const tensor = normaliseTensor(value, key, field);
      if (tensor.data.length !== tokens.length) throw new InputError(`${field}: length ${tensor.data.length} does not match the model_input length ${tokens.length}`);
      if (key === 'target_tokens' && vocabSize !== undefined) {
        const bad = tensor.data.findIndex((t) => t >= vocabSize);
        if (bad >= 0) throw new InputError(`${field}.data[${bad}]: token ${tensor.data[bad]} is outside the vocabulary (0–${vocabSize - 1})`);
      }
      inputs[key] = tensor;
    }
    for (const key of spec.required) if (!inputs[key]) throw new InputError(`${at}.loss_fn_inputs.${key}: required by ${lossFn}`);
    if (lossFn === 'cross_entropy' && !inputs.weights) inputs.weights = { data: tokens.map(() => 1), dtype: 'float32', shape: [tokens.length] };
    return { model_input: { chunks: [{ type: 'encoded_text', tokens }] }, loss_fn_inputs: inputs };
  });
  const allowed = lossConfigKeys[lossFn];
  let config: Record<string, number> | undefined;
  for (const [key, value] of Object.entries(input.loss_fn_config ?? {})) {
    if (!(key in allowed)) throw new InputError(`${prefix}loss_fn_config.${key}: not a parameter of ${lossFn}${Object.keys(allowed).length ? ` (expected ${Object.keys(allowed).join(', ')})` : ''}`);
    (config ??= {})[key] = value;
  }
  if (Object.keys(allowed).length > 0) {
    config = { ...(allowed as Record<string, number>), ...config };
    if ('clip_low_threshold' in config && !(config.clip_low_threshold < config.clip_high_threshold)) {
      throw new InputError(`${prefix}loss_fn_config: clip_low_threshold (${config.clip_low_threshold}) must be below clip_high_threshold (${config.clip_high_threshold}); they are absolute ratio bounds such as 0.8 and 1.2, not ε`);
    }
  }
  return { data, loss_fn: lossFn, ...(config ? { loss_fn_config: config } : {}) };
}

function parseWireAt<T extends z.ZodType>(schema: T, value: unknown, prefix: string): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = `${prefix}${fieldPath(issue.path)}`.replace(/\.$/, '');
  throw new InputError(`${where || 'body'}: ${issue.message}`, { details: { field: where } });
}

/** `adam_params` with the SDK defaults (§0.3). */
export const adamParamsInput = z.strictObject({
  learning_rate: z.number().nonnegative().default(1e-4),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.95),
  eps: z.number().nonnegative().default(1e-12),
  weight_decay: z.number().nonnegative().default(0),
  grad_clip_norm: z.number().nonnegative().default(0),
});

export const lossFnFields = { id, intId };

/** `lora_config`; every knob the workers honour, anything else refused. */
export const loraConfigInput = z.strictObject({
  rank: z.number().int().min(0).max(1024).default(32),
  alpha: z.number().positive().optional(),
  seed: z.number().int().nullish(),
  train_mlp: z.boolean().default(true),
  train_attn: z.boolean().default(true),
  train_unembed: z.boolean().default(true),
});

/** `sampling_params` (SDK defaults); integer `stop` entries are stop token ids. */
export const samplingParamsInput = z.looseObject({
  max_tokens: z.number().int().min(0).max(65_536).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.union([z.string(), z.number().int().nonnegative()]))]).nullish(),
  temperature: z.number().min(0).max(100).default(1),
  top_k: z.number().int().default(-1),
  top_p: z.number().gt(0).max(1).default(1),
  presence_penalty: z.number().optional(),
  frequency_penalty: z.number().optional(),
});

/** Sampling parameters as the workers read them. */
export function normaliseSamplingParams(params: z.output<typeof samplingParamsInput>, defaultMaxTokens: number) {
  if (params.presence_penalty) throw new InputError('sampling_params.presence_penalty: not supported');
  if (params.frequency_penalty) throw new InputError('sampling_params.frequency_penalty: not supported');
  const stop = params.stop == null ? [] : Array.isArray(params.stop) ? params.stop : [params.stop];
  const stopStrings = stop.filter((s): s is string => typeof s === 'string');
  const stopTokenIds = stop.filter((s): s is number => typeof s === 'number');
  return {
    max_tokens: params.max_tokens ?? defaultMaxTokens,
    temperature: params.temperature,
    top_p: params.top_p,
    top_k: params.top_k,
    ...(params.seed != null ? { seed: params.seed } : {}),
    ...(stopStrings.length ? { stop_strings: stopStrings } : {}),
    ...(stopTokenIds.length ? { stop_token_ids: stopTokenIds } : {}),
  };
}

export { modelInputInput };

/** A stable hash of a normalised request, for idempotent submits. */
export function payloadHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
