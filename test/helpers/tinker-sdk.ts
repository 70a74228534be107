/**
 * A TypeScript emulator of the official Tinker Python SDK's wire behaviour (JSON era, ≤ 0.24;
 * training-apis §2.3/§2.4), for tests and benchmarks: `client/config` first, submits that return
 * futures, `retrieve_future` polled exactly as `api_future_impl.py` does (408 and 5xx re-polled at
 * once, 429 and connection errors backed off, `{error, category}` raised, anything else the
 * result), `forward_backward` split into chunks sent in parallel with chunk 1 last, and the chunk
 * results merged by metric suffix (`combine_fwd_bwd_output_results`).
 */

export class RequestFailedError extends Error {
  readonly category: string;
  constructor(message: string, category: string) {
    super(message);
    this.category = category;
  }
}

export class HttpError extends Error {
  readonly status: number;
  readonly body: any;
  constructor(status: number, body: any) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

export interface Datum {
  model_input: { chunks: { type?: string; tokens: number[] }[] };
  loss_fn_inputs: Record<string, { data: number[]; dtype: 'int64' | 'float32'; shape?: number[] }>;
}

export interface ForwardBackwardOutput {
  loss_fn_output_type: string;
  loss_fn_outputs: { logprobs: { data: number[]; dtype: string; shape?: number[] }; elementwise_loss?: { data: number[] } }[];
  metrics: Record<string, number>;
}

export interface SdkOptions {
  apiKey?: string;
  sdkVersion?: string;
  /** Datums per forward_backward chunk (the SDK's `fwdbwd_max_chunk_len`). */
  chunkSize?: number;
}

/** The `ServiceClient` + `TrainingClient` + `SamplingClient` wire behaviour. */
export class TinkerSdk {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #sdkVersion: string;
  chunkSize: number;
  sessionId: string | undefined;
  #modelSeq = 0;
  #samplingSeq = 0;
  /** Per training client: the next request id (seq_id = request_id + 1). */
  readonly #requestIds = new Map<string, number>();
  /** Polls done by the last retrieve, for tests of the long poll. */
  polls = 0;

  constructor(baseUrl: string, { apiKey, sdkVersion = '0.24.0', chunkSize = 1024 }: SdkOptions = {}) {
    this.baseUrl = baseUrl;
    this.#apiKey = apiKey;
    this.#sdkVersion = sdkVersion;
    this.chunkSize = chunkSize;
  }

  /** POST with the SDK's submit retries (408/409/429/5xx and connection errors, up to 10). */
  async post(path: string, body: unknown, { retries = 10 }: { retries?: number } = {}): Promise<any> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}/api/v1/${path}`, { method: 'POST', headers: this.#headers(), body: JSON.stringify(body) });
      } catch (error) {
        if (attempt >= retries) throw error;
        await sleep(Math.min(2 ** attempt * 50, 1000));
        continue;
      }
      const json = await response.json().catch(() => null);
      if (response.ok) return json;
      const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
      if (!retryable || attempt >= retries) throw new HttpError(response.status, json);
      await sleep(Math.min(2 ** attempt * 50, 1000));
    }
  }

  async get(path: string): Promise<any> {
    const response = await fetch(`${this.baseUrl}/api/v1/${path}`, { headers: this.#headers() });
    const json = await response.json().catch(() => null);
    if (!response.ok) throw new HttpError(response.status, json);
    return json;
  }

  /** `api_future_impl.py`: poll until the result, re-polling 408/5xx at once. */
  async retrieve(requestId: string): Promise<any> {
    this.polls = 0;
    let backoff = 0;
    let spurious400 = 0;
    for (let iteration = 0; ; iteration++) {
      this.polls++;
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}/api/v1/retrieve_future`, {
          method: 'POST',
          headers: { ...this.#headers(), 'X-Tinker-Request-Iteration': String(iteration), 'X-Tinker-Request-Type': 'retrieve' },
          body: JSON.stringify({ request_id: requestId, allow_metadata_only: false }),
          signal: AbortSignal.timeout(45_000),
        });
      } catch {
        await sleep(Math.min(2 ** backoff++, 30) * 100);
        continue;
      }
      const json: any = await response.json().catch(() => null);
      if (response.status === 408 || response.status >= 500) continue;
      if (response.status === 429) {
        await sleep(Math.min(2 ** backoff++, 30) * 100);
        continue;
      }
      if (response.status === 400 && spurious400++ < 3) continue;
      if (response.status !== 200) throw new HttpError(response.status, json);
      if (json && json.type === 'try_again') continue;
      if (json && typeof json.error === 'string' && typeof json.category === 'string') throw new RequestFailedError(json.error, json.category);
      return json;
    }
  }

  async clientConfig(): Promise<any> {
    return this.post('client/config', { sdk_version: this.#sdkVersion });
  }

  async createSession(tags: string[] = []): Promise<string> {
    await this.clientConfig();
    const { session_id } = await this.post('create_session', { tags, user_metadata: {}, sdk_version: this.#sdkVersion, type: 'create_session' });
    this.sessionId = session_id;
    return session_id;
  }

  async heartbeat(): Promise<any> {
    return this.post('session_heartbeat', { session_id: this.sessionId, type: 'session_heartbeat' });
  }

  /** `create_lora_training_client`: resolves to the model id once the worker holds it. */
  async createModel(lora: Record<string, unknown> = { rank: 8, train_mlp: true, train_attn: true, train_unembed: true }, baseModel = 'tiny-lm'): Promise<string> {
    const future = await this.post('create_model', { session_id: this.sessionId, model_seq_id: this.#modelSeq++, base_model: baseModel, lora_config: lora, type: 'create_model' });
    const result = await this.retrieve(future.request_id);
    this.#requestIds.set(result.model_id, 0);
    return result.model_id;
  }

  #nextSeq(modelId: string): number {
    const id = this.#requestIds.get(modelId) ?? 0;
    this.#requestIds.set(modelId, id + 1);
    return id + 1;
  }

  /** forward_backward (or forward) with the SDK's chunking: chunks 2..n in parallel, chunk 1 last. */
  async forwardBackward(modelId: string, data: Datum[], lossFn: string, lossFnConfig?: Record<string, number>, { forwardOnly = false } = {}): Promise<ForwardBackwardOutput> {
    const chunks: Datum[][] = [];
    for (let i = 0; i < data.length; i += this.chunkSize) chunks.push(data.slice(i, i + this.chunkSize));
    const seqs = chunks.map(() => this.#nextSeq(modelId));
    const route = forwardOnly ? 'forward' : 'forward_backward';
    const key = forwardOnly ? 'forward_input' : 'forward_backward_input';
    const submit = (i: number) => this.post(route, { model_id: modelId, seq_id: seqs[i], [key]: { data: chunks[i], loss_fn: lossFn, ...(lossFnConfig ? { loss_fn_config: lossFnConfig } : {}) } });
    const later = await Promise.all(chunks.slice(1).map((_, i) => submit(i + 1)));
    const first = await submit(0);
    const results: ForwardBackwardOutput[] = await Promise.all([first, ...later].map((f) => this.retrieve(f.request_id)));
    return combineForwardBackward(results, chunks.map((c) => c.length));
  }

  async forward(modelId: string, data: Datum[], lossFn: string, lossFnConfig?: Record<string, number>): Promise<ForwardBackwardOutput> {
    return this.forwardBackward(modelId, data, lossFn, lossFnConfig, { forwardOnly: true });
  }

  async optimStep(modelId: string, adam: Partial<Record<'learning_rate' | 'beta1' | 'beta2' | 'eps' | 'weight_decay' | 'grad_clip_norm', number>> = {}): Promise<any> {
    const future = await this.post('optim_step', {
      model_id: modelId,
      seq_id: this.#nextSeq(modelId),
      adam_params: { learning_rate: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0, ...adam },
      type: 'optim_step',
    });
    return this.retrieve(future.request_id);
  }

  /** Submits without waiting (tests of ordering): returns the future. */
  async submit(route: string, modelId: string, body: Record<string, unknown>): Promise<{ request_id: string }> {
    return this.post(route, { model_id: modelId, seq_id: this.#nextSeq(modelId), ...body });
  }

  async saveState(modelId: string, name: string): Promise<string> {
    const future = await this.post('save_weights', { model_id: modelId, seq_id: this.#nextSeq(modelId), path: name });
    return (await this.retrieve(future.request_id)).path;
  }

  async saveWeightsForSampler(modelId: string, name?: string): Promise<{ path: string | null; sampling_session_id: string | null }> {
    const body = name ? { path: name } : { sampling_session_seq_id: this.#samplingSeq++ };
    const future = await this.post('save_weights_for_sampler', { model_id: modelId, seq_id: this.#nextSeq(modelId), ...body });
    return this.retrieve(future.request_id);
  }

  async loadState(modelId: string, path: string, optimizer = true): Promise<any> {
    const future = await this.post('load_weights', { model_id: modelId, seq_id: this.#nextSeq(modelId), path, optimizer });
    return this.retrieve(future.request_id);
  }

  async createSamplingClient(opts: { base_model?: string; model_path?: string }): Promise<string> {
    const { sampling_session_id } = await this.post('create_sampling_session', { session_id: this.sessionId, sampling_session_seq_id: this.#samplingSeq++, ...opts });
    return sampling_session_id;
  }

  async sample(samplingSessionId: string, prompt: number[], params: Record<string, unknown>, { numSamples = 1, promptLogprobs = false, seqId }: { numSamples?: number; promptLogprobs?: boolean; seqId?: number } = {}): Promise<any> {
    const future = await this.post('asample', {
      sampling_session_id: samplingSessionId,
      ...(seqId !== undefined ? { seq_id: seqId } : {}),
      num_samples: numSamples,
      prompt: { chunks: [{ type: 'encoded_text', tokens: prompt }] },
      sampling_params: params,
      prompt_logprobs: promptLogprobs,
    });
    return this.retrieve(future.request_id);
  }

  #headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.#apiKey ? { 'X-API-Key': this.#apiKey } : {}) };
  }
}

/** `combine_fwd_bwd_output_results`: outputs concatenated, metrics reduced by their suffix. */
export function combineForwardBackward(results: ForwardBackwardOutput[], counts: number[]): ForwardBackwardOutput {
  if (results.length === 1) return results[0];
  const metrics: Record<string, number> = {};
  const keys = new Set(results.flatMap((r) => Object.keys(r.metrics)));
  const total = counts.reduce((a, b) => a + b, 0);
  for (const key of keys) {
    const [, reduction] = key.split(':');
    if (reduction === undefined) throw new Error(`metric '${key}' has no ':reduction' suffix (the SDK crashes here)`);
    const values = results.map((r) => r.metrics[key]);
    switch (reduction) {
      case 'sum':
        metrics[key] = values.reduce((a, b) => a + b, 0);
        break;
      case 'mean':
        metrics[key] = values.reduce((a, v, i) => a + v * counts[i], 0) / total;
        break;
      case 'min':
        metrics[key] = Math.min(...values);
        break;
      case 'max':
        metrics[key] = Math.max(...values);
        break;
      default:
        metrics[key] = values[0];
    }
  }
  return { loss_fn_output_type: results[0].loss_fn_output_type, loss_fn_outputs: results.flatMap((r) => r.loss_fn_outputs), metrics };
}

/** Byte-level datum for the tiny model: position t of `text[0..n-1]` predicts `text[t+1]`. */
export function textDatum(text: string, weight = 1): Datum {
  const bytes = [...Buffer.from(text, 'utf8')];
  const input = bytes.slice(0, -1);
  const target = bytes.slice(1);
  return {
    model_input: { chunks: [{ type: 'encoded_text', tokens: input }] },
    loss_fn_inputs: {
      target_tokens: { data: target, dtype: 'int64', shape: [target.length] },
      weights: { data: target.map(() => weight), dtype: 'float32', shape: [target.length] },
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
