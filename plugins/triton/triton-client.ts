import { BackendError, NotFoundError, TimeoutError, UnavailableError, type HttpClientService } from '../../core/plugin-api.ts';
import type { TritonDuration, TritonIndexEntry, TritonModelState, TritonModelStats, TritonServerMetadata } from './types.ts';
import { tritonModelStates } from './types.ts';

/** Where one server is, as the client needs it. */
export interface TritonTarget {
  id: string;
  host: string;
  httpPort: number;
}

/** Host as it goes in a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function baseUrl(target: { host: string; httpPort: number }): string {
  return `http://${urlHost(target.host)}:${target.httpPort}`;
}

/** How messages name a server: `Triton server 't1' (127.0.0.1:8000)`. */
export function serverLabel(target: TritonTarget): string {
  return `Triton server '${target.id}' (${urlHost(target.host)}:${target.httpPort})`;
}

export interface TritonCallOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  timeoutMs?: number;
}

/**
 * KServe v2 / Triton HTTP calls, each with a bounded timeout. Errors are coded and name the
 * server; Triton's own `{"error": "…"}` message is passed through. Both status styles are
 * understood: Triton ≥ 24.01 maps errors to 400/404/500/501/503, older ones answer 400 for
 * everything, so an unknown model is recognised by its message as well as by 404.
 */
export class TritonClient {
  readonly #http: HttpClientService;
  readonly #timeoutMs: number;

  constructor({ http, timeoutMs }: { http: HttpClientService; timeoutMs: number }) {
    this.#http = http;
    this.#timeoutMs = timeoutMs;
  }

  /** One call; resolves to the parsed JSON body (undefined when empty). */
  async call(target: TritonTarget, path: string, { method = 'GET', body, timeoutMs = this.#timeoutMs }: TritonCallOptions = {}): Promise<unknown> {
    const { status, text } = await this.raw(target, path, { method, body, timeoutMs });
    if (status >= 200 && status < 300) return text === '' ? undefined : parseJson(target, text);
    throw tritonError(target, status, text);
  }

  /** One call without interpreting the status; network failures and timeouts are still coded errors. */
  async raw(target: TritonTarget, path: string, { method = 'GET', body, timeoutMs = this.#timeoutMs }: TritonCallOptions = {}): Promise<{ status: number; text: string }> {
    const url = `${baseUrl(target)}${path}`;
    try {
      const response = await this.#http.fetch(url, {
        method,
        timeoutMs,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      throw networkError(target, error, timeoutMs);
    }
  }

  /** `GET /v2/health/live|ready`: true on 200, false on 400 (or any other answer). */
  async health(target: TritonTarget, which: 'live' | 'ready'): Promise<boolean> {
    const { status } = await this.raw(target, `/v2/health/${which}`);
    return status === 200;
  }

  async metadata(target: TritonTarget): Promise<TritonServerMetadata> {
    const body = (await this.call(target, '/v2')) as Partial<TritonServerMetadata> | undefined;
    return { name: String(body?.name ?? ''), version: String(body?.version ?? ''), extensions: Array.isArray(body?.extensions) ? body.extensions.map(String) : [] };
  }

  /** `POST /v2/repository/index`, never-loaded models included unless `ready`. */
  async index(target: TritonTarget, { ready }: { ready?: boolean } = {}): Promise<TritonIndexEntry[]> {
    const body = await this.call(target, '/v2/repository/index', { method: 'POST', body: ready ? { ready: true } : {} });
    if (!Array.isArray(body)) throw new BackendError(`${serverLabel(target)} answered the repository index with something else than a list`, { details: { server: target.id } });
    return body.map(toIndexEntry);
  }

  modelMetadata(target: TritonTarget, name: string, version?: string): Promise<unknown> {
    return this.call(target, modelPath(name, version));
  }

  modelConfig(target: TritonTarget, name: string, version?: string): Promise<unknown> {
    return this.call(target, `${modelPath(name, version)}/config`);
  }

  async stats(target: TritonTarget, name: string, version?: string): Promise<TritonModelStats[]> {
    const body = (await this.call(target, `${modelPath(name, version)}/stats`)) as { model_stats?: unknown[] } | undefined;
    return (body?.model_stats ?? []).map(toStats);
  }

  /** Loads (or reloads) a model; `parameters` are Triton's `config` and `file:<path>` overrides. */
  async load(target: TritonTarget, name: string, parameters: Record<string, string>, timeoutMs: number): Promise<void> {
    await this.call(target, `/v2/repository/models/${encodeURIComponent(name)}/load`, {
      method: 'POST',
      body: Object.keys(parameters).length ? { parameters } : {},
      timeoutMs,
    });
  }

  async unload(target: TritonTarget, name: string, unloadDependents: boolean, timeoutMs: number): Promise<void> {
    await this.call(target, `/v2/repository/models/${encodeURIComponent(name)}/unload`, {
      method: 'POST',
      body: unloadDependents ? { parameters: { unload_dependents: true } } : {},
      timeoutMs,
    });
  }

  /** `GET http://host:metricsPort/metrics` (Prometheus text). */
  async metricsText(target: TritonTarget, metricsPort: number): Promise<string> {
    const url = `http://${urlHost(target.host)}:${metricsPort}/metrics`;
    try {
      const response = await this.#http.fetch(url, { timeoutMs: this.#timeoutMs });
      const text = await response.text();
      if (!response.ok) throw new BackendError(`${serverLabel(target)}: metrics port ${metricsPort} answered ${response.status}`, { details: { server: target.id } });
      return text;
    } catch (error) {
      if (error instanceof BackendError) throw error;
      throw networkError(target, error, this.#timeoutMs, `${serverLabel(target)} metrics port ${metricsPort}`);
    }
  }
}

function modelPath(name: string, version?: string): string {
  return `/v2/models/${encodeURIComponent(name)}${version ? `/versions/${encodeURIComponent(version)}` : ''}`;
}

function parseJson(target: TritonTarget, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BackendError(`${serverLabel(target)} answered with invalid JSON`, { details: { server: target.id } });
  }
}

/** Triton's `{"error": "…"}` as a coded error naming the server. */
export function tritonError(target: TritonTarget, status: number, text: string): Error {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed?.error === 'string') message = parsed.error;
  } catch {
    // Not JSON (a proxy in between?): keep the text.
  }
  if (message === '') message = `HTTP ${status}`;
  const full = `${serverLabel(target)}: ${message}`;
  const details = { server: target.id, tritonStatus: status, tritonMessage: message };
  // Pre-24.01 servers answer 400 for everything: recognise "unknown model" by its text too.
  if (status === 404 || /^Request for unknown model\b/.test(message) || /\bis not found\b/.test(message)) return new NotFoundError(full, { details });
  if (status === 503) return new UnavailableError(full, { details });
  return new BackendError(full, { details });
}

function networkError(target: TritonTarget, error: unknown, timeoutMs: number, label = serverLabel(target)): Error {
  const name = (error as Error)?.name;
  if (name === 'TimeoutError') return new TimeoutError(`${label} did not answer within ${timeoutMs} ms`, { cause: error, details: { server: target.id } });
  if (name === 'AbortError') return new UnavailableError(`${label}: request cancelled (the plugin is stopping)`, { cause: error, details: { server: target.id } });
  const cause = error as { cause?: { code?: string; message?: string } };
  const reason = cause.cause?.code ?? cause.cause?.message ?? (error as Error)?.message ?? String(error);
  return new UnavailableError(`${label} is unreachable (${reason})`, { cause: error, details: { server: target.id } });
}

function toIndexEntry(raw: unknown): TritonIndexEntry {
  const entry = (raw ?? {}) as Record<string, unknown>;
  const state = typeof entry.state === 'string' && (tritonModelStates as readonly string[]).includes(entry.state) ? (entry.state as TritonModelState) : entry.state === undefined ? null : 'UNKNOWN';
  return {
    name: String(entry.name ?? ''),
    version: entry.version === undefined ? null : String(entry.version),
    state,
    reason: typeof entry.reason === 'string' && entry.reason !== '' ? entry.reason : null,
  };
}

function duration(raw: unknown): TritonDuration {
  const d = (raw ?? {}) as { count?: unknown; ns?: unknown };
  return { count: Number(d.count ?? 0), ns: Number(d.ns ?? 0) };
}

function toStats(raw: unknown): TritonModelStats {
  const s = (raw ?? {}) as Record<string, any>;
  const inference = (s.inference_stats ?? {}) as Record<string, unknown>;
  const last = Number(s.last_inference ?? 0);
  return {
    name: String(s.name ?? ''),
    version: String(s.version ?? ''),
    lastInference: last > 0 ? new Date(last) : null,
    inferenceCount: Number(s.inference_count ?? 0),
    executionCount: Number(s.execution_count ?? 0),
    success: duration(inference.success),
    fail: duration(inference.fail),
    queue: duration(inference.queue),
    computeInput: duration(inference.compute_input),
    computeInfer: duration(inference.compute_infer),
    computeOutput: duration(inference.compute_output),
  };
}
