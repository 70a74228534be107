import { InputError, NotFoundError, UnavailableError, type JobRecord, type PluginStatusService } from '../../core/plugin-api.ts';
import { labelKeys, pluginLabel } from './container-args.ts';
import { errorText, type VllmContext } from './context.ts';
import { resolveModelPath } from './model-path.ts';
import { reconcile, type ReconcileReport } from './reconcile.ts';
import { startServer, stopServer, type ValidStartSpec } from './server-lifecycle.ts';
import { isActive, type ServerMonitor } from './server-monitor.ts';
import { snapshot, serversTopic } from './server-registry.ts';
import type { StartVllmServerInput, VllmContainer, VllmServer } from './types.ts';
import { servedNameSchema, startInputSchema } from './validation.ts';
import { validateVllmArgs } from './vllm-args.ts';

/**
 * The plugin's runtime API (what `init` returns): every operation on vLLM servers. Each change
 * of one served name runs under that name's mutex; reads come from memory.
 */
export class VllmService {
  /** Full pubsub topic of server changes, for subscriptions. */
  readonly topic = `vllm-podman:${serversTopic}`;
  readonly #ctx: VllmContext;
  readonly #monitor: ServerMonitor;
  readonly #status: PluginStatusService;
  #unavailable: string | undefined = 'podman has not been checked yet';
  #degraded = false;

  constructor(ctx: VllmContext, monitor: ServerMonitor, status: PluginStatusService) {
    this.#ctx = ctx;
    this.#monitor = monitor;
    this.#status = status;
  }

  get available(): boolean {
    return this.#unavailable === undefined;
  }

  /** Checks that podman runs; reports the plugin degraded (or ready again) accordingly. */
  async checkPodman(): Promise<boolean> {
    try {
      await this.#ctx.podman.version();
      // Only a recovery is reported: during init the kernel marks the plugin ready itself.
      if (this.#degraded) this.#status.setReady();
      this.#degraded = false;
      this.#unavailable = undefined;
    } catch (error) {
      const reason = errorText(error);
      if (this.#unavailable !== reason) this.#status.setDegraded(reason);
      this.#degraded = true;
      this.#unavailable = reason;
    }
    return this.available;
  }

  list(): VllmServer[] {
    this.#ensureAvailable();
    return this.#ctx.registry.list().map(snapshot);
  }

  get(name: string): VllmServer | undefined {
    this.#ensureAvailable();
    const state = this.#ctx.registry.get(name);
    return state ? snapshot(state) : undefined;
  }

  /** Starts a server; CONFLICT (with the server in `details`) when the name is already active. */
  async start(input: StartVllmServerInput): Promise<VllmServer> {
    this.#ensureAvailable();
    const spec = await this.#validate(input);
    return this.#ctx.mutex.run(spec.name, async () => snapshot(await startServer(this.#ctx, this.#monitor, spec)));
  }

  /** Stops and removes the container. Resolves to undefined when nothing was starting, loading or running. */
  async stop(name: string): Promise<VllmServer | undefined> {
    this.#ensureAvailable();
    const valid = servedNameSchema.safeParse(name);
    if (!valid.success) return undefined;
    const outcome = await this.#ctx.mutex.run(name, () => stopServer(this.#ctx, this.#monitor, name));
    return outcome?.wasActive ? snapshot(outcome.state) : undefined;
  }

  /** Stops the server if it is active, then starts it again with the same settings. */
  async restart(name: string): Promise<VllmServer> {
    this.#ensureAvailable();
    const state = this.#ctx.registry.get(name);
    if (!state) throw new NotFoundError(`No vLLM server named '${name}'`);
    const spec = await this.#validate({ name, modelPath: state.modelPath, port: state.port, args: state.args, gpus: state.gpuRequest ?? undefined, labels: state.labels });
    return this.#ctx.mutex.run(name, async () => {
      const current = this.#ctx.registry.get(name);
      if (current && isActive(current)) await stopServer(this.#ctx, this.#monitor, name);
      return snapshot(await startServer(this.#ctx, this.#monitor, spec));
    });
  }

  /** Stops the server if needed and forgets it. False when there was no such server. */
  async remove(name: string): Promise<boolean> {
    this.#ensureAvailable();
    return this.#ctx.mutex.run(name, async () => {
      const outcome = await stopServer(this.#ctx, this.#monitor, name);
      if (!outcome) return false;
      await this.#ctx.registry.delete(name);
      return true;
    });
  }

  /** This daemon's running vLLM containers, as `podman ps` shows them. */
  async containers(): Promise<VllmContainer[]> {
    this.#ensureAvailable();
    const rows = await this.#ctx.podman.psLegacy(pluginLabel);
    return rows
      .filter((row) => row.labels[labelKeys.instance] === this.#ctx.instanceId)
      .map(({ labels, ...row }) => ({ ...row, servedModelName: labels[labelKeys.servedName] ?? '', modelPath: labels[labelKeys.modelPath] ?? '' }));
  }

  /** One reconcile pass now (the schedule runs them too); rechecks podman when degraded. */
  async reconcile(): Promise<ReconcileReport> {
    if (!this.available && !(await this.checkPodman())) this.#ensureAvailable();
    return reconcile(this.#ctx, this.#monitor);
  }

  /** Probes the servers that are loading. */
  async probeLoading(): Promise<void> {
    if (!this.available) return;
    const loading = this.#ctx.registry.list().filter((s) => s.status === 'loading');
    await Promise.all(loading.map((s) => this.#monitor.probe(s.name).catch(() => undefined)));
  }

  /**
   * A `v-` job found running when the daemon started: its server was adopted by the init
   * reconcile (nothing to do), or it ended while the daemon was down (settle the job).
   */
  async resumeJob(job: JobRecord): Promise<void> {
    const server = this.#ctx.registry.list().find((s) => s.jobId === job.id);
    if (server && isActive(server)) return;
    const failed = server?.status === 'failed';
    await this.#ctx.jobs.settle(job.id, failed ? { status: 'failed', reason: (server.message ?? 'failed').split('\n')[0] } : { status: 'succeeded' });
  }

  #ensureAvailable(): void {
    if (this.#unavailable !== undefined) throw new UnavailableError(`The vllm-podman plugin is degraded: ${this.#unavailable}`);
  }

  async #validate(input: StartVllmServerInput): Promise<ValidStartSpec> {
    const parsed = startInputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(`Invalid ${issue.path.join('.') || 'input'}: ${issue.message}`);
    }
    const { name, modelPath, port, gpus, args = [], labels = {} } = parsed.data;
    return {
      name,
      modelPath: await resolveModelPath(modelPath, this.#ctx.modelRoots()),
      port,
      args: validateVllmArgs(args),
      defaultArgs: validateVllmArgs(this.#ctx.config.defaultArgs),
      gpuRequest: gpus ? (gpus.indices ? { indices: gpus.indices } : { count: gpus.count ?? 1 }) : null,
      labels,
    };
  }
}
