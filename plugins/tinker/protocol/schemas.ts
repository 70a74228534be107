/**
 * zod schemas of the bwp/1 `params` objects, one per method, plus the `hello` notification.
 * Both ends validate with these: {@link serveWorker} checks every request's params before a
 * method handler runs (a failure answers `-32602`), and the daemon checks `hello`.
 *
 * Fields are snake_case on the wire. Unknown keys are dropped (forward compatible); defaults
 * noted per field are applied by `parse`.
 *
 * @see docs/worker-protocol.md
 * @module
 */
import { z } from 'zod';

/** The protocol version string sent in `hello.protocol`. */
export const PROTOCOL_VERSION = 'bwp/1';

/** The five Tinker loss functions (training-apis §2.6). */
export const lossFns = ['cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro'] as const;

const int = () => z.number().int();
const nonNegInt = () => z.number().int().nonnegative();
const id = () => z.string().min(1).max(256);

/** A tensor inline as JSON: flattened row-major `data`, wire `dtype`, optional `shape` (1-D when absent). */
export const tensorDataSchema = z.object({
  data: z.array(z.number()),
  dtype: z.enum(['int64', 'float32']),
  shape: z.array(nonNegInt()).optional(),
});

/** One chunk of a model input; bwp/1 carries token chunks only. */
export const encodedTextChunkSchema = z.object({
  type: z.literal('encoded_text'),
  tokens: z.array(nonNegInt()),
});

/** A model input: its tokens are the concatenation of the chunks' tokens. */
export const modelInputSchema = z.object({ chunks: z.array(encodedTextChunkSchema) });

/**
 * One training example in the nested Tinker form. `target_tokens` is required (same length as
 * the input); `weights` (cross_entropy), `logprobs` and `advantages` (the RL losses) as the loss
 * needs; `mask` is honoured as 0/1 weights by the RL losses. Other keys are kept. Typed as a
 * record of tensors so daemon-side normalised data fits as is.
 */
export const datumSchema = z.object({
  model_input: modelInputSchema,
  loss_fn_inputs: z
    .record(z.string(), tensorDataSchema)
    .refine((inputs) => inputs.target_tokens !== undefined, { message: 'target_tokens is required', path: ['target_tokens'] }),
});

/** `lora_config`: rank 0 = full fine-tune. Flags default to true; `alpha` defaults to 32. */
export const loraConfigSchema = z.object({
  rank: nonNegInt().max(1024),
  alpha: z.number().positive().optional(),
  train_mlp: z.boolean().default(true),
  train_attn: z.boolean().default(true),
  train_unembed: z.boolean().default(true),
  seed: int().optional(),
});

/** AdamW hyper-parameters; defaults are the Tinker SDK's (β=(0.9,0.95), eps=1e-12, wd=0, clip off). */
export const adamParamsSchema = z.object({
  learning_rate: z.number().nonnegative(),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.95),
  eps: z.number().nonnegative().default(1e-12),
  weight_decay: z.number().nonnegative().default(0),
  grad_clip_norm: z.number().nonnegative().default(0),
});

/** `sampling_params`. `top_k <= 0` and `top_p = 1` disable those filters; `temperature 0` is greedy. */
export const samplingParamsSchema = z.object({
  max_tokens: nonNegInt(),
  temperature: z.number().nonnegative().default(1),
  top_p: z.number().gt(0).max(1).default(1),
  top_k: int().default(-1),
  seed: int().optional(),
  stop_strings: z.array(z.string()).optional(),
  stop_token_ids: z.array(nonNegInt()).optional(),
});

const modelRef = z.object({ model_id: id() });

/** The `params` schema of every daemon → worker method. */
export const methodParamSchemas = {
  ping: z.object({}),
  shutdown: z.object({ grace_ms: nonNegInt().default(5000) }),
  cancel: z.object({ id: z.union([z.string(), z.number()]) }),
  create_model: z.object({
    model_id: id(),
    base_model: z.string().min(1),
    lora_config: loraConfigSchema,
    seed: int().optional(),
    checkpoint_path: z.string().min(1).optional(),
  }),
  unload_model: modelRef,
  get_info: modelRef,
  tokenizer_info: modelRef,
  forward: z.object({
    model_id: id(),
    seq_id: int().optional(),
    data: z.array(datumSchema),
    loss_fn: z.enum(lossFns),
    loss_fn_config: z.record(z.string(), z.number()).optional(),
  }),
  forward_backward: z.object({
    model_id: id(),
    seq_id: int().optional(),
    data: z.array(datumSchema),
    loss_fn: z.enum(lossFns),
    loss_fn_config: z.record(z.string(), z.number()).optional(),
  }),
  optim_step: z.object({ model_id: id(), seq_id: int().optional(), adam_params: adamParamsSchema }),
  save_weights: z.object({ model_id: id(), path: z.string().min(1), kind: z.enum(['training', 'sampler']) }),
  load_weights: z.object({ model_id: id(), path: z.string().min(1), optimizer: z.boolean().default(false) }),
  sample: z.object({
    model_id: id(),
    prompt_tokens: z.array(nonNegInt()),
    num_samples: z.number().int().positive().max(1024).default(1),
    sampling_params: samplingParamsSchema,
    prompt_logprobs: z.boolean().default(false),
  }),
  get_gradients: modelRef,
  get_weights: modelRef,
  train_job: z.object({
    job_id: id(),
    spec: z.record(z.string(), z.unknown()),
    dataset_path: z.string().min(1),
    output_dir: z.string().min(1),
  }),
  validate_output: z.object({ path: z.string().min(1) }),
} as const;

/**
 * The `spec` of a `train_job` as the workers read it (Model Training Manager hyper-parameters;
 * defaults are MTM's). Extra keys are kept and ignored.
 */
export const trainJobSpecSchema = z.looseObject({
  training_type: z.enum(['qlora', 'standard', 'unsloth', 'rag']),
  base_model: z.string().min(1),
  epochs: z.number().int().min(1).max(100).default(3),
  batch_size: z.number().int().min(1).max(64).default(4),
  learning_rate: z.number().positive().default(2e-4),
  lora_r: z.number().int().min(1).max(256).default(16),
  lora_alpha: z.number().min(1).max(512).default(32),
  lora_dropout: z.number().min(0).max(1).default(0.05),
  max_seq_length: z.number().int().min(2).max(1_000_000).default(512),
  seed: z.number().int().default(0),
});

/** One device in `hello.devices`. */
export const deviceSchema = z.object({ index: nonNegInt(), name: z.string(), memory_total: z.number().nonnegative() });

/** The `hello` notification's params, the first message a worker sends. */
export const helloSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  worker_id: z.string(),
  pid: nonNegInt(),
  backend: z.enum(['tiny', 'torch']),
  devices: z.array(deviceSchema),
  capabilities: z.object({
    losses: z.array(z.string()),
    sampling: z.boolean(),
    lora: z.boolean(),
    proto: z.boolean().default(false),
    train_job: z.boolean().default(false),
    introspection: z.boolean().default(false),
  }),
  models: z.array(z.string()),
  /**
   * Sent by a worker that reconnected after the daemon went away (serveWorker's `reconnect`):
   * the requests of the old connection it has not answered yet. Their progress and answers
   * follow on this connection; the daemon claims them with `WorkerConnection.adopt(id)`.
   */
  in_flight: z.array(z.object({ id: z.union([z.string(), z.number()]), method: z.string() })).optional(),
});

/** The `progress` notification's params; `id` is the JSON-RPC id of the request it reports on. */
export const progressSchema = z.looseObject({
  id: z.union([z.string(), z.number()]),
  step: z.number(),
  total_steps: z.number(),
  epoch: z.number().optional(),
  loss: z.number().nullable().optional(),
  lr: z.number().optional(),
  tokens_per_s: z.number().optional(),
  gpu_mem: z.number().nullable().optional(),
});

/** The `log` notification's params. */
export const logSchema = z.object({ level: z.enum(['debug', 'info', 'warn', 'error']), msg: z.string() });
