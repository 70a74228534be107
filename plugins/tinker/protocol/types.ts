/**
 * bwp/1 message types: the JSON-RPC 2.0 envelopes and, per method, its params (inferred from
 * {@link methodParamSchemas}, input and parsed forms) and its result.
 *
 * @see docs/worker-protocol.md
 * @module
 */
import type { z } from 'zod';
import type {
  datumSchema,
  helloSchema,
  logSchema,
  lossFns,
  methodParamSchemas,
  progressSchema,
  tensorDataSchema,
  trainJobSpecSchema,
} from './schemas.ts';

/** A JSON-RPC id. Daemon-side ids are positive integers; workers must echo whatever they get. */
export type RpcId = string | number;

/** `{"jsonrpc":"2.0","id","method","params"}`. */
export interface RpcRequest {
  jsonrpc: '2.0';
  id: RpcId;
  method: string;
  params?: unknown;
}

/** A request without an id: `hello`, `heartbeat`, `progress`, `log`. */
export interface RpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: unknown;
}

/** `error.data` as bwp/1 pins it. */
export interface RpcErrorData {
  category: 'user' | 'server';
  retryable: boolean;
  [key: string]: unknown;
}

/** The `error` member of a failed response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: RpcErrorData;
}

/** A successful response. */
export interface RpcSuccess {
  jsonrpc: '2.0';
  id: RpcId;
  result: unknown;
}

/** A failed response (`id` is null when the request could not be read). */
export interface RpcFailure {
  jsonrpc: '2.0';
  id: RpcId | null;
  error: RpcErrorObject;
}

/** Any bwp/1 line. */
export type RpcMessage = RpcRequest | RpcNotification | RpcSuccess | RpcFailure;

/** A method name of bwp/1 (daemon → worker). */
export type MethodName = keyof typeof methodParamSchemas;

/** Params as a caller may send them (defaults optional). */
export type MethodParamsInput = { [M in MethodName]: z.input<(typeof methodParamSchemas)[M]> };
/** Params as a handler receives them (after validation, defaults applied). */
export type MethodParams = { [M in MethodName]: z.output<(typeof methodParamSchemas)[M]> };

/** A Tinker loss function name. */
export type LossFn = (typeof lossFns)[number];
/** An inline tensor. */
export type TensorData = z.output<typeof tensorDataSchema>;
/** A training example (nested Tinker form). */
export type Datum = z.output<typeof datumSchema>;
/** A train_job spec after defaults. */
export type TrainJobSpec = z.output<typeof trainJobSpecSchema>;
/** `hello` params. */
export type Hello = z.output<typeof helloSchema>;
/** `progress` params. */
export type Progress = z.output<typeof progressSchema>;
/** `log` params. */
export type LogMessage = z.output<typeof logSchema>;

/** A float32 tensor in a result. */
export interface Float32TensorData {
  data: number[];
  dtype: 'float32';
  shape: number[];
}

/** `forward` / `forward_backward` result. */
export interface ForwardResult {
  loss_fn_output_type: string;
  /** One per datum: target `logprobs` (required) and `elementwise_loss`. */
  loss_fn_outputs: Array<{ logprobs: Float32TensorData; elementwise_loss?: Float32TensorData }>;
  /** Every key is `name:reduction`; always has `loss:sum`. */
  metrics: Record<string, number>;
}

/** One sampled sequence; `logprobs` are raw model log-softmax (temperature 1) of each token. */
export interface SampledSequence {
  tokens: number[];
  logprobs: number[];
  stop_reason: 'stop' | 'length';
}

/** Named tensors (introspection). */
export interface TensorMap {
  tensors: Record<string, { shape: number[]; data: number[] }>;
}

/** The result of each method. */
export interface MethodResults {
  ping: Record<string, never>;
  shutdown: Record<string, never>;
  cancel: Record<string, never>;
  create_model: { model_id: string; parameters: number; trainable_parameters: number };
  unload_model: Record<string, never>;
  get_info: {
    model_data: { model_name: string; tokenizer_id: string | null; arch?: string };
    lora_rank: number;
    [key: string]: unknown;
  };
  tokenizer_info: { vocab_size: number; bos_token_id: number; eos_token_id: number; pad_token_id: number; kind: 'byte' | string };
  forward: ForwardResult;
  forward_backward: ForwardResult;
  optim_step: { metrics: Record<string, number> };
  save_weights: { path: string; bytes: number };
  load_weights: Record<string, never>;
  sample: { sequences: SampledSequence[]; prompt_logprobs: Array<number | null> | null };
  get_gradients: TensorMap;
  get_weights: TensorMap;
  train_job: { model_path: string; final_loss: number | null; steps: number; files: string[] };
  validate_output: { ok: boolean; model_name: string | null; parameters: number | null; files: string[]; sample_text?: string; errors?: string[] };
}
