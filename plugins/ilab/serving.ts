import path from 'node:path';
import { ConflictError, NotFoundError, UnavailableError, type JobRecord, type ServingBackend, type ServingStatus } from '../../core/plugin-api.ts';
import { findCheckpoint } from './checkpoints.ts';
import { gpuRequest, type IlabContext } from './context.ts';
import { resolveModelPath } from './model-names.ts';
import { serveProgress } from './progress.ts';

/** The two served names the InstructLab UI knows: the base model and the newest checkpoint. */
export const servedNames = ['pre-train', 'post-train'] as const;
export type ServedName = (typeof servedNames)[number];

export interface ServeResult {
  jobId: string;
  status: 'started' | 'already_running';
  backend: 'local' | 'vllm';
  servedModelName: ServedName;
  port: number;
  modelPath: string;
}

export interface ServedModel {
  name: ServedName;
  backend: 'local' | 'vllm';
  status: ServingStatus;
  port: number | null;
  modelPath: string | null;
  jobId: string | null;
}

const defaultBaseModel = { vllm: 'granite-8b-starter-v1', local: 'granite-7b-lab-Q4_K_M.gguf' } as const;
const live = new Set<ServingStatus>(['starting', 'loading', 'running']);

/**
 * `serve-base` / `serve-latest`: locally as an `ml-` job running `ilab model serve` (one per
 * port; a different model replaces the old server after it has stopped), or through the vLLM
 * plugin's serving backend. One request per served name at a time, so two clicks cannot start
 * two servers on one port.
 */
export class IlabServing {
  readonly #ctx: IlabContext;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(ctx: IlabContext) {
    this.#ctx = ctx;
  }

  async serveBase(): Promise<ServeResult> {
    const { config, paths, models } = this.#ctx;
    const name = config.baseModel ?? defaultBaseModel[config.servingBackend];
    const modelPath = await resolveModelPath(name, { roots: [paths.models], cached: models.state().models }).catch((error) => {
      throw error instanceof NotFoundError ? new NotFoundError(`Model path does not exist: ${path.resolve(paths.models, name)}`) : error;
    });
    return this.#serve('pre-train', config.ports.base, modelPath);
  }

  async serveLatest(checkpoint?: string | null): Promise<ServeResult> {
    const found = await findCheckpoint(this.#ctx.paths.checkpoints, checkpoint);
    return this.#serve('post-train', this.#ctx.config.ports.latest, found.path);
  }

  async list(): Promise<ServedModel[]> {
    return Promise.all(servedNames.map((name) => this.#status(name)));
  }

  /** Stops a served model; resolves with its state afterwards. */
  async stop(name: ServedName): Promise<ServedModel> {
    await this.#locked(name, async () => {
      if (this.#ctx.config.servingBackend === 'vllm') {
        await this.#vllmBackend().stop(name);
        return;
      }
      const job = await this.#localJob((j) => j.labels.served_model_name === name);
      if (!job) throw new NotFoundError(`Model '${name}' is not being served`);
      await this.#ctx.jobs.cancel(job.id).catch((error) => (error instanceof ConflictError ? undefined : Promise.reject(error)));
    });
    return this.#status(name);
  }

  #serve(name: ServedName, port: number, modelPath: string): Promise<ServeResult> {
    return this.#locked(name, () => (this.#ctx.config.servingBackend === 'vllm' ? this.#serveVllm(name, port, modelPath) : this.#serveLocal(name, port, modelPath)));
  }

  async #serveVllm(name: ServedName, port: number, modelPath: string): Promise<ServeResult> {
    const backend = this.#vllmBackend();
    const result = { backend: 'vllm' as const, servedModelName: name, port };
    const existing = await backend.get(name);
    if (existing && live.has(existing.status)) return { ...result, jobId: existing.jobId ?? '', status: 'already_running', modelPath: existing.modelPath ?? modelPath };
    const started = await backend.start({ name, modelPath, port, gpus: { count: this.#ctx.config.serveGpus }, labels: { origin: 'ilab', ...this.#ctx.baseLabels } });
    return { ...result, jobId: started.jobId ?? '', status: 'started', modelPath };
  }

  async #serveLocal(name: ServedName, port: number, modelPath: string): Promise<ServeResult> {
    const ctx = this.#ctx;
    const result = { backend: 'local' as const, servedModelName: name, port, modelPath };
    const args = ['model', 'serve', '--model-path', modelPath, '--host', ctx.config.serveHost, '--port', String(port)];
    const call = await ctx.cli.invocation(args);
    const current = await this.#localJob((j) => j.labels.port === String(port));
    if (current && current.labels.model_path === modelPath) return { ...result, jobId: current.id, status: 'already_running' };
    if (current) {
      // Graceful replacement: SIGTERM, the job service's grace period, and only then the new server.
      ctx.logger.info('replacing the model server on a port', { port, job: current.id });
      await ctx.jobs.cancel(current.id).catch((error) => (error instanceof ConflictError ? undefined : Promise.reject(error)));
    }
    const job = await ctx.jobs.start({
      idPrefix: 'ml',
      kind: 'serve',
      command: call.command,
      args: call.args,
      cwd: call.cwd,
      env: call.env,
      labels: { ...ctx.baseLabels, served_model_name: name, port: String(port), model_path: modelPath },
      gpus: gpuRequest(ctx, ctx.config.serveGpus),
      progress: serveProgress,
      // A model server runs until replaced: it must not take a slot training jobs queue for.
      longRunning: true,
    });
    return { ...result, jobId: job.id, status: 'started' };
  }

  async #status(name: ServedName): Promise<ServedModel> {
    if (this.#ctx.config.servingBackend === 'vllm') {
      const instance = await this.#ctx.serving.get('vllm')?.get(name);
      return { name, backend: 'vllm', status: instance?.status ?? 'stopped', port: instance?.port ?? null, modelPath: instance?.modelPath ?? null, jobId: instance?.jobId ?? null };
    }
    const job = await this.#localJob((j) => j.labels.served_model_name === name);
    let status: ServingStatus = !job ? 'stopped' : job.status === 'queued' ? 'starting' : 'loading';
    if (job?.status === 'running') {
      // Ready means answering, not a line in the log (a later crash leaves the line there).
      const host = ['0.0.0.0', '::'].includes(this.#ctx.config.serveHost) ? '127.0.0.1' : this.#ctx.config.serveHost;
      const probe = await this.#ctx.http.probe(`http://${host.includes(':') ? `[${host}]` : host}:${job.labels.port}/v1/models`, { timeoutMs: 1_000 });
      if (probe.ok) status = 'running';
    }
    return { name, backend: 'local', status, port: job ? Number(job.labels.port) : null, modelPath: job?.labels.model_path ?? null, jobId: job?.id ?? null };
  }

  async #localJob(match: (job: JobRecord) => boolean): Promise<JobRecord | undefined> {
    const [running, queued] = await Promise.all([this.#ctx.jobs.list({ kind: 'serve', status: 'running' }), this.#ctx.jobs.list({ kind: 'serve', status: 'queued' })]);
    return [...running, ...queued].find(match);
  }

  #vllmBackend(): ServingBackend {
    const backend = this.#ctx.serving.get('vllm');
    if (!backend) throw new UnavailableError("The vLLM serving backend is not available: enable the vllm-podman plugin, or set plugins.ilab.servingBackend: local");
    return backend;
  }

  #locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.#locks.set(name, next.catch(() => undefined));
    return next;
  }
}
