import path from 'node:path';
import { ConflictError, NotFoundError, UnavailableError, type JobRecord, type ServingBackend, type ServingInstance, type ServingStatus } from '../../core/plugin-api.ts';
import { findCheckpoint } from './checkpoints.ts';
import { gpuRequest, type IlabContext } from './context.ts';
import { isIdle } from './gpu-reclaim.ts';
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
  /** `local` (an `ml-` job of this plugin) or the id of the serving backend that runs it. */
  backend: string;
  status: ServingStatus;
  port: number | null;
  modelPath: string | null;
  jobId: string | null;
  /** GPU indices a local server's job is leased. */
  gpus: number[];
  /** Since when those GPUs did no work; null without GPUs. */
  idleSince: Date | null;
  /** Idle for `serveIdleMinutes`: a job that needs its GPUs may stop it (`preemptIdleServers`). */
  reclaimable: boolean;
}

/** What to do when the name is already served. */
export interface ServeOptions {
  /**
   * Replace a local server that already serves this name, as the Go server did on every click.
   * A vLLM server keeps running and the reply is `already_running` (the Go server's `--vllm`).
   */
  restart?: boolean;
}

function fromInstance(name: ServedName, backend: string, instance: ServingInstance): ServedModel {
  return { name, backend, status: instance.status, port: instance.port ?? null, modelPath: instance.modelPath ?? null, jobId: instance.jobId ?? null, gpus: [], idleSince: null, reclaimable: false };
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

  async serveBase(options: ServeOptions = {}): Promise<ServeResult> {
    const { config, paths, models } = this.#ctx;
    const name = config.baseModel ?? defaultBaseModel[config.servingBackend];
    const modelPath = await resolveModelPath(name, { roots: [paths.models], cached: await models.listed() }).catch((error) => {
      throw error instanceof NotFoundError ? new NotFoundError(`Model path does not exist: ${path.resolve(paths.models, name)}`) : error;
    });
    return this.#serve('pre-train', config.ports.base, modelPath, options);
  }

  async serveLatest(checkpoint?: string | null, options: ServeOptions = {}): Promise<ServeResult> {
    const found = await findCheckpoint(this.#ctx.paths.checkpoints, checkpoint);
    return this.#serve('post-train', this.#ctx.config.ports.latest, found.path, options);
  }

  async list(): Promise<ServedModel[]> {
    return Promise.all(servedNames.map((name) => this.status(name)));
  }

  /**
   * A served name as whatever serves it reports it: this plugin's local `ml-` job, else the
   * first serving backend with a live server of that name (the configured one first), else the
   * configured backend's last word (`stopped`, `failed`).
   */
  async status(name: ServedName): Promise<ServedModel> {
    const job = await this.#localJob((j) => j.labels.served_model_name === name);
    if (job) return this.#localStatus(name, job);
    const configured = this.#ctx.config.servingBackend === 'vllm' ? this.#ctx.serving.get('vllm') : undefined;
    const others = this.#ctx.serving.list().filter((b) => b !== configured);
    for (const backend of [configured, ...others]) {
      if (!backend) continue;
      // Only the configured backend's failures are ours to report (podman missing in vllm mode).
      const instance = await (backend === configured ? backend.get(name) : backend.get(name).catch(() => undefined));
      if (instance && (live.has(instance.status) || backend === configured)) return fromInstance(name, backend.id, instance);
    }
    return { name, backend: configured?.id ?? this.#ctx.config.servingBackend, status: 'stopped', port: null, modelPath: null, jobId: null, gpus: [], idleSince: null, reclaimable: false };
  }

  /** Stops whatever serves a name; NOT_FOUND when nothing does. Resolves with its state afterwards. */
  async stop(name: ServedName): Promise<ServedModel> {
    await this.#locked(name, async () => {
      const job = await this.#localJob((j) => j.labels.served_model_name === name);
      if (job) {
        await this.#ctx.jobs.cancel(job.id).catch((error) => (error instanceof ConflictError ? undefined : Promise.reject(error)));
        return;
      }
      const current = await this.status(name);
      const backend = current.backend === 'local' ? undefined : this.#ctx.serving.get(current.backend);
      const stopped = backend && live.has(current.status) ? await backend.stop(name) : undefined;
      if (!stopped) throw new NotFoundError(`Model '${name}' is not being served`);
    });
    return this.status(name);
  }

  #serve(name: ServedName, port: number, modelPath: string, options: ServeOptions): Promise<ServeResult> {
    return this.#locked(name, () => (this.#ctx.config.servingBackend === 'vllm' ? this.#serveVllm(name, port, modelPath) : this.#serveLocal(name, port, modelPath, options)));
  }

  async #serveVllm(name: ServedName, port: number, modelPath: string): Promise<ServeResult> {
    const backend = this.#vllmBackend();
    const result = { backend: 'vllm' as const, servedModelName: name, port };
    const existing = await backend.get(name);
    if (existing && live.has(existing.status)) return { ...result, jobId: existing.jobId ?? '', status: 'already_running', modelPath: existing.modelPath ?? modelPath };
    const started = await backend.start({ name, modelPath, port, gpus: { count: this.#ctx.config.serveGpus }, labels: { origin: 'ilab', ...this.#ctx.baseLabels } });
    return { ...result, jobId: started.jobId ?? '', status: 'started', modelPath };
  }

  async #serveLocal(name: ServedName, port: number, modelPath: string, { restart = false }: ServeOptions): Promise<ServeResult> {
    const ctx = this.#ctx;
    const result = { backend: 'local' as const, servedModelName: name, port, modelPath };
    const args = ['model', 'serve', '--model-path', modelPath, '--host', ctx.config.serveHost, '--port', String(port)];
    const call = await ctx.cli.invocation(args);
    const current = await this.#localJob((j) => j.labels.port === String(port));
    if (current && current.labels.model_path === modelPath && !restart) return { ...result, jobId: current.id, status: 'already_running' };
    if (current) {
      // Graceful replacement: SIGTERM, the job service's grace period, and only then the new server.
      ctx.logger.info('replacing the model server on a port', { port, job: current.id, restart });
      await ctx.jobs.cancel(current.id).catch((error) => (error instanceof ConflictError ? undefined : Promise.reject(error)));
      await ctx.jobs.wait(current.id);
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

  async #localStatus(name: ServedName, job: JobRecord): Promise<ServedModel> {
    let status: ServingStatus = job.status === 'queued' ? 'starting' : 'loading';
    if (job.status === 'running') {
      // Ready means answering, not a line in the log (a later crash leaves the line there).
      const host = ['0.0.0.0', '::'].includes(this.#ctx.config.serveHost) ? '127.0.0.1' : this.#ctx.config.serveHost;
      const probe = await this.#ctx.http.probe(`http://${host.includes(':') ? `[${host}]` : host}:${job.labels.port}/v1/models`, { timeoutMs: 1_000 });
      if (probe.ok) status = 'running';
    }
    const idleSince = this.#ctx.gpuActivity.idleSince(job);
    const reclaimable = isIdle(this.#ctx, this.#ctx.gpuActivity, job);
    return { name, backend: 'local', status, port: Number(job.labels.port), modelPath: job.labels.model_path ?? null, jobId: job.id, gpus: job.gpus, idleSince, reclaimable };
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
