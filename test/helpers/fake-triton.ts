import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A faithful fake of Triton's HTTP/REST API (KServe v2 + the model-repository, configuration and
 * statistics extensions), after /work/shared/reference/triton-nvidia-podman.md §1: the routing
 * regexes and dispatch order of `src/http_server.cc`, empty-bodied health answers, the index of
 * every folder of the repository (never-loaded models name-only), per-version states, load
 * overrides, the exact error messages, and both status styles (≥ 24.01 or "everything 400").
 * The model repository is a real folder, so uploads written by backplane are what it serves.
 */
export interface FakeTritonOptions {
  /** The `--model-repository` folder. */
  repository: string;
  /** `--model-control-mode`. @default explicit */
  mode?: 'explicit' | 'none' | 'poll';
  /** `current` (≥ 24.01: 400/404/500/501/503) or `legacy` (< 24.01: every error is 400). @default current */
  errorStyle?: 'current' | 'legacy';
  /** Reported in `GET /v2`. @default 2.42.0 (or 2.41.0 for legacy) */
  version?: string;
  /** How long a load stays LOADING before it ends. @default 0 */
  loadDelayMs?: number;
  /** Serve Prometheus metrics on a second port. @default true */
  metrics?: boolean;
  /** Models loaded at start (`--load-model`), e.g. in mode none. */
  loadAtStart?: string[];
  /** Delay before every answer (a network between backplane and the server). @default 0 */
  latencyMs?: number;
}

type VersionState = { state: 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING'; reason?: string };
interface ModelStatus {
  versions: Map<string, VersionState>;
  /** JSON config given with the last load, replacing config.pbtxt. */
  configOverride?: Record<string, unknown>;
  /** `file:` overrides of the last load (path → bytes). */
  files?: Map<string, Buffer>;
  stats: Map<string, { inference: number; execution: number; last: number }>;
}

const extensions = ['classification', 'sequence', 'model_repository', 'model_repository(unload_dependents)', 'schedule_policy', 'model_configuration', 'system_shared_memory', 'cuda_shared_memory', 'binary_tensor_data', 'parameters', 'statistics', 'trace', 'logging'];
const serverRegex = /^\/v2(?:\/health\/(live|ready))?$/;
const modelRegex = /^\/v2\/models\/([^/]+)(?:\/versions\/([0-9]+))?(?:\/(infer|generate|generate_stream|ready|config|stats|trace\/setting))?$/;
const modelControlRegex = /^\/v2\/repository(?:\/([^/]+))?\/(index|models\/([^/]+)\/(load|unload))$/;

class TritonHttpError extends Error {
  readonly code: 'INTERNAL' | 'NOT_FOUND' | 'UNAVAILABLE' | 'UNSUPPORTED' | 'INVALID_ARG';
  constructor(code: TritonHttpError['code'], message: string) {
    super(message);
    this.code = code;
  }
}
const statusOf = { INTERNAL: 500, NOT_FOUND: 404, UNAVAILABLE: 503, UNSUPPORTED: 501, INVALID_ARG: 400 } as const;

export class FakeTriton {
  readonly options: Required<Omit<FakeTritonOptions, 'loadAtStart'>>;
  /** Triton's global model map: every model it ever tried to load. */
  readonly models = new Map<string, ModelStatus>();
  /** Every request seen, `METHOD path`. */
  readonly requests: string[] = [];
  /** Answer nothing at all (connections stay open). */
  hang = false;
  /** Drop the connection of the next request matching this (a server going down mid-request). */
  dropNext: RegExp | undefined;
  /** The last load request body per model. */
  readonly loadBodies = new Map<string, unknown>();
  #http: Server | undefined;
  #metrics: Server | undefined;

  constructor(options: FakeTritonOptions) {
    const legacy = options.errorStyle === 'legacy';
    this.options = { mode: 'explicit', errorStyle: 'current', version: legacy ? '2.41.0' : '2.42.0', loadDelayMs: 0, metrics: true, latencyMs: 0, ...options } as FakeTriton['options'];
    for (const name of options.loadAtStart ?? []) this.#loadNow(name, undefined);
  }

  get port(): number {
    return (this.#http!.address() as AddressInfo).port;
  }

  get metricsPort(): number | null {
    return this.#metrics ? (this.#metrics.address() as AddressInfo).port : null;
  }

  async start(): Promise<this> {
    this.#http = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#http!.listen(0, '127.0.0.1', resolve));
    if (this.options.metrics) {
      this.#metrics = createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(this.metricsText());
      });
      await new Promise<void>((resolve) => this.#metrics!.listen(0, '127.0.0.1', resolve));
    }
    return this;
  }

  /** Stops listening and drops every connection (a server that goes down). */
  async stop(): Promise<void> {
    for (const server of [this.#http, this.#metrics]) {
      if (!server?.listening) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Counts `n` inferences on a READY version (what `/stats` and the metrics report). */
  infer(model: string, version: string, n = 1): void {
    const status = this.models.get(model);
    if (status?.versions.get(version)?.state !== 'READY') throw new Error(`${model}:${version} is not READY`);
    const s = status.stats.get(version) ?? { inference: 0, execution: 0, last: 0 };
    status.stats.set(version, { inference: s.inference + n, execution: s.execution + n, last: Date.now() });
  }

  metricsText(): string {
    const lines = [
      '# HELP nv_gpu_utilization GPU utilization rate [0.0 - 1.0)',
      '# TYPE nv_gpu_utilization gauge',
      'nv_gpu_utilization{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 0.500000',
      'nv_gpu_memory_total_bytes{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 16945512448.000000',
      'nv_gpu_memory_used_bytes{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 974913536.000000',
      'nv_gpu_power_usage{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 55.137000',
      '# HELP nv_inference_count Number of inferences performed (does not include cached requests)',
      '# TYPE nv_inference_count counter',
    ];
    for (const [name, status] of this.models)
      for (const [version, v] of status.versions) if (v.state === 'READY') lines.push(`nv_inference_count{model="${name}",version="${version}"} ${status.stats.get(version)?.inference ?? 0}`);
    return `${lines.join('\n')}\n`;
  }

  // ---- the repository on disk

  #dirs(): string[] {
    if (!existsSync(this.options.repository)) return [];
    return readdirSync(this.options.repository, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }

  /** Numeric version folders (names starting with 0 are ignored, as Triton does). */
  #diskVersions(name: string): string[] {
    const dir = path.join(this.options.repository, name);
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^[1-9][0-9]*$/.test(e.name))
      .map((e) => e.name)
      .sort((a, b) => Number(a) - Number(b));
  }

  #pbtxt(name: string): string {
    const file = path.join(this.options.repository, name, 'config.pbtxt');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  #config(name: string): Record<string, unknown> {
    const status = this.models.get(name);
    if (status?.configOverride) return { name, ...status.configOverride };
    const text = this.#pbtxt(name);
    const key = (k: string) => new RegExp(`(?:^|\\s)${k}\\s*:\\s*"([^"]*)"`).exec(text)?.[1];
    const platform = key('platform') ?? '';
    const batch = Number(/max_batch_size\s*:\s*(\d+)/.exec(text)?.[1] ?? 0);
    const policy = /version_policy\s*:\s*\{\s*all/.test(text) ? { all: {} } : { latest: { num_versions: 1 } };
    return { name, platform, backend: key('backend') ?? platform.split('_')[0] ?? '', runtime: '', version_policy: policy, max_batch_size: batch, input: [], output: [], batch_input: [], batch_output: [], instance_group: [{ name, kind: 'KIND_CPU', count: 1, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' }], default_model_filename: '', cc_model_filenames: {}, metric_tags: {}, parameters: {}, model_warmup: [] };
  }

  // ---- load / unload

  #loadNow(name: string, parameters: Record<string, string> | undefined): { done: Promise<void> } {
    const dir = path.join(this.options.repository, name);
    const configOverride = parameters?.config === undefined ? undefined : (JSON.parse(parameters.config) as Record<string, unknown>);
    const files = new Map(Object.entries(parameters ?? {}).filter(([k]) => k.startsWith('file:')).map(([k, v]) => [k.slice(5), Buffer.from(v, 'base64')]));
    if (!configOverride && !(existsSync(dir) && statSync(dir).isDirectory())) throw new TritonHttpError('INTERNAL', `failed to load '${name}', failed to poll from model repository`);
    const status: ModelStatus = this.models.get(name) ?? { versions: new Map(), stats: new Map() };
    this.models.set(name, status);
    status.configOverride = configOverride;
    status.files = files;
    const fromFiles = [...new Set([...files.keys()].map((f) => f.split('/')[0]!).filter((v) => /^[1-9][0-9]*$/.test(v)))];
    const onDisk = existsSync(dir) ? this.#diskVersions(name) : [];
    const available = files.size ? fromFiles : onDisk;
    const policy = (this.#config(name).version_policy ?? {}) as Record<string, unknown>;
    const chosen = 'all' in policy ? available : available.slice(-1);
    if (chosen.length === 0) throw new TritonHttpError('INTERNAL', `failed to load '${name}', no version is available`);
    // Versions no longer chosen are unloaded (a reload after a version delete drops it).
    for (const [v, s] of status.versions) if (!chosen.includes(v) && s.state === 'READY') status.versions.set(v, { state: 'UNAVAILABLE', reason: 'unloaded' });
    for (const v of chosen) status.versions.set(v, { state: 'LOADING' });
    const finish = () => {
      for (const v of chosen) {
        const fail = existsSync(path.join(dir, v, 'FAIL')) && !files.size;
        status.versions.set(v, fail ? { state: 'UNAVAILABLE', reason: `unable to load model '${name}' version ${v}: Internal: fake failure` } : { state: 'READY' });
      }
      if (chosen.every((v) => status.versions.get(v)!.state !== 'READY')) throw new TritonHttpError('INTERNAL', `failed to load '${name}', no version is available`);
    };
    if (this.options.loadDelayMs === 0) {
      finish();
      return { done: Promise.resolve() };
    }
    return { done: new Promise((resolve, reject) => setTimeout(() => { try { finish(); resolve(); } catch (e) { reject(e); } }, this.options.loadDelayMs)) };
  }

  // ---- HTTP

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.hang) return; // never answers
    if (this.options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    if (this.dropNext?.test(url.pathname)) {
      this.dropNext = undefined;
      res.socket?.destroy();
      return;
    }
    try {
      await this.#route(req.method ?? 'GET', url.pathname, Buffer.concat(chunks).toString('utf8'), res);
    } catch (error) {
      if (error instanceof TritonHttpError) return this.#error(res, error.code, error.message);
      this.#error(res, 'INTERNAL', (error as Error).message);
    }
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  #empty(res: ServerResponse, status: number, contentType = 'text/plain'): void {
    res.writeHead(status, { 'content-type': contentType, 'content-length': 0 }).end();
  }

  #error(res: ServerResponse, code: TritonHttpError['code'], message: string): void {
    this.#json(res, this.options.errorStyle === 'legacy' ? 400 : statusOf[code], { error: message });
  }

  #method(res: ServerResponse, method: string, expected: string): boolean {
    if (method === expected) return true;
    this.#json(res, 405, { error: 'Method Not Allowed' });
    return false;
  }

  /** The version a request names, or the READY ones; Triton's errors otherwise. */
  #resolve(name: string, version: string | undefined): string[] {
    const status = this.models.get(name);
    if (!status) throw new TritonHttpError('INVALID_ARG', `Request for unknown model: '${name}' is not found`);
    if (version !== undefined) {
      const v = status.versions.get(version);
      if (!v) throw new TritonHttpError('NOT_FOUND', `Request for unknown model: '${name}' version ${version} is not found`);
      if (v.state !== 'READY') throw new TritonHttpError('UNAVAILABLE', `Request for unknown model: '${name}' version ${version} is not at ready state`);
      return [version];
    }
    const ready = [...status.versions].filter(([, v]) => v.state === 'READY').map(([k]) => k).sort((a, b) => Number(a) - Number(b));
    if (ready.length === 0) throw new TritonHttpError('NOT_FOUND', `Request for unknown model: '${name}' has no available versions`);
    return ready;
  }

  async #route(method: string, pathname: string, body: string, res: ServerResponse): Promise<void> {
    // Dispatch order of http_server.cc: /v2/models/stats first, then models, server, repository.
    if (pathname === '/v2/models/stats') {
      if (!this.#method(res, method, 'GET')) return;
      return this.#json(res, 200, { model_stats: [...this.models.keys()].flatMap((m) => this.#stats(m, undefined, true)) });
    }
    let match = modelRegex.exec(pathname);
    if (match) {
      const [, rawName, version, action] = match;
      const name = decodeURIComponent(rawName!);
      if (action === 'infer' || action === 'generate' || action === 'generate_stream') {
        if (!this.#method(res, method, 'POST')) return;
        const [v] = this.#resolve(name, version).slice(-1);
        this.infer(name, v!);
        return this.#json(res, 200, { model_name: name, model_version: v, outputs: [] });
      }
      if (!this.#method(res, method, 'GET')) return;
      if (action === 'ready') {
        const status = this.models.get(name);
        if (!status) throw new TritonHttpError('INVALID_ARG', `Request for unknown model: '${name}' is not found`);
        const ok = version ? status.versions.get(version)?.state === 'READY' : [...status.versions.values()].some((v) => v.state === 'READY');
        if (!ok) return this.#json(res, 400, { error: 'Model version not ready' });
        return this.#empty(res, 200);
      }
      if (action === 'config') {
        this.#resolve(name, version);
        return this.#json(res, 200, this.#config(name));
      }
      if (action === 'stats') return this.#json(res, 200, { model_stats: this.#stats(name, version, false) });
      if (action === 'trace/setting') return this.#json(res, 200, {});
      const versions = this.#resolve(name, version);
      const config = this.#config(name);
      return this.#json(res, 200, { name, versions, platform: config.platform || config.backend, inputs: [], outputs: [] });
    }
    match = serverRegex.exec(pathname);
    if (match) {
      if (!this.#method(res, method, 'GET')) return;
      if (match[1] === 'live') return this.#empty(res, 200);
      if (match[1] === 'ready') {
        // --strict-readiness: every model Triton tried to load must be READY (unloaded ones do not count).
        const ready = [...this.models.values()].every((m) => [...m.versions.values()].every((v) => v.state === 'READY' || v.reason === 'unloaded'));
        return this.#empty(res, ready ? 200 : 400);
      }
      return this.#json(res, 200, { name: 'triton', version: this.options.version, extensions });
    }
    match = modelControlRegex.exec(pathname);
    if (match) {
      if (!this.#method(res, method, 'POST')) return;
      const [, repository, what, rawModel, action] = match;
      const parsed = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, any>);
      if (what === 'index') {
        if (parsed.ready !== undefined && typeof parsed.ready !== 'boolean') throw new TritonHttpError('INVALID_ARG', "Invalid value for 'ready': expected a boolean");
        return this.#json(res, 200, this.#index(parsed.ready === true));
      }
      if (repository) throw new TritonHttpError('UNSUPPORTED', "'repository_name' specification is not supported");
      if (this.options.mode !== 'explicit') throw new TritonHttpError('UNAVAILABLE', 'explicit model load / unload is not allowed if polling is enabled');
      const name = decodeURIComponent(rawModel!);
      const parameters = (parsed.parameters ?? {}) as Record<string, unknown>;
      if (action === 'load') {
        this.loadBodies.set(name, parsed);
        for (const [key, value] of Object.entries(parameters)) {
          if (typeof value !== 'string') throw new TritonHttpError('INVALID_ARG', `Unable to parse '${key}': expected a string`);
          if (key !== 'config' && !key.startsWith('file:')) throw new TritonHttpError('INTERNAL', 'unexpected error on creating Triton parameter');
        }
        if (Object.keys(parameters).some((k) => k.startsWith('file:')) && parameters.config === undefined) throw new TritonHttpError('INVALID_ARG', `failed to load '${name}', failed to poll from model repository: 'config' must be provided with 'file:' overrides`);
        await this.#loadNow(name, parameters as Record<string, string>).done;
        return this.#empty(res, 200, 'application/json');
      }
      if (parameters.unload_dependents !== undefined && typeof parameters.unload_dependents !== 'boolean') throw new TritonHttpError('INVALID_ARG', "Unable to parse 'unload_dependents': expected a boolean");
      const status = this.models.get(name);
      // A name Triton never saw is a no-op.
      if (status) for (const v of status.versions.keys()) status.versions.set(v, { state: 'UNAVAILABLE', reason: 'unloaded' });
      return this.#empty(res, 200, 'application/json');
    }
    this.#json(res, 404, { error: 'Not Found' });
  }

  #index(readyOnly: boolean): unknown[] {
    const entries: unknown[] = [];
    for (const name of this.#dirs()) {
      const status = this.models.get(name);
      if (!status || status.versions.size === 0) {
        if (!readyOnly) entries.push({ name });
        continue;
      }
      for (const [version, v] of [...status.versions].sort(([a], [b]) => Number(a) - Number(b))) {
        if (readyOnly && v.state !== 'READY') continue;
        entries.push(v.reason ? { name, version, state: v.state, reason: v.reason } : { name, version, state: v.state });
      }
    }
    return entries;
  }

  #stats(name: string, version: string | undefined, quiet: boolean): unknown[] {
    let versions: string[];
    try {
      versions = this.#resolve(name, version);
    } catch {
      if (quiet) return [];
      throw new TritonHttpError('INVALID_ARG', `requested model '${name}' is not available`);
    }
    const status = this.models.get(name)!;
    return versions.map((v) => {
      const s = status.stats.get(v) ?? { inference: 0, execution: 0, last: 0 };
      const d = (count: number) => ({ count, ns: count * 1000 });
      return {
        name,
        version: v,
        last_inference: s.last,
        inference_count: s.inference,
        execution_count: s.execution,
        inference_stats: { success: d(s.inference), fail: d(0), queue: d(s.inference), compute_input: d(s.inference), compute_infer: d(s.inference), compute_output: d(s.inference), cache_hit: d(0), cache_miss: d(0) },
        batch_stats: [],
        memory_usage: [],
      };
    });
  }
}

/** Writes a model folder (config.pbtxt and version folders) into a repository, as a test fixture. */
export async function writeFakeModel(repository: string, name: string, { platform = 'onnxruntime_onnx', versions = ['1'], policyAll = false }: { platform?: string; versions?: string[]; policyAll?: boolean } = {}): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(path.join(repository, name), { recursive: true });
  await writeFile(path.join(repository, name, 'config.pbtxt'), `platform: "${platform}"\nmax_batch_size: 8\n${policyAll ? 'version_policy: { all { }}\n' : ''}`);
  for (const v of versions) {
    await mkdir(path.join(repository, name, v), { recursive: true });
    await writeFile(path.join(repository, name, v, 'model.onnx'), `weights of ${name} v${v}`);
  }
}
