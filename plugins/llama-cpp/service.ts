import {
  ConflictError,
  hasErrorCode,
  InputError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  BackendError,
  type GpuLease,
  type PluginStatusService,
} from '../../core/plugin-api.ts';
import { planEviction, type BudgetMember } from './budget.ts';
import type { LlamaCppConfig } from './config.ts';
import { baseUrlOf, errorText, leaseHolder, type LlamaContext } from './context.ts';
import { instancesTopic, type LlamaInstanceView } from './instance-registry.ts';
import { validateLlamaArgs } from './llama-args.ts';
import { tailLines } from './log-tail.ts';
import { estimateVramMiB, readModelInfo, resolveModelFile } from './model-file.ts';
import { pickPort } from './ports.ts';
import { leaseGpus, releaseLease, spawnRun, terminateRun } from './run-control.ts';
import type { Supervisor } from './supervisor.ts';
import { activeStatuses, type LlamaInstance, type LlamaInstanceOptions } from './types.ts';
import { createInputSchema, instanceNameSchema, stopTimeoutSchema, updateInputSchema, type OptionsInput } from './validation.ts';

/** How a stop ends a run. */
export interface StopOptions {
  /** Seconds between SIGTERM and SIGKILL. @default config `stopTimeoutSeconds` */
  timeoutSeconds?: number;
  /** SIGKILL at once. */
  force?: boolean;
}

/** Statuses in which a run is (being) started or served: a second start is a CONFLICT. */
const busyStatuses = new Set(['starting', 'running', 'stopping']);

/**
 * The llama-cpp plugin's runtime API: what GraphQL resolvers call, and the plugin-internal API
 * the OpenAI router and the llamactl REST faces build on (`resolveModel`, `ensureRunning`,
 * `beginRequest`, `touch`, `baseUrl`). Every change of one instance is serialised by a per-name
 * mutex; reads are answered from memory.
 */
export class LlamaCppService {
  /** The full pubsub topic every instance change is published on (for subscriptions). */
  readonly topic = `llama-cpp:${instancesTopic}`;
  readonly #ctx: LlamaContext;
  readonly #supervisor: Supervisor;
  readonly #status: PluginStatusService;

  constructor(ctx: LlamaContext, supervisor: Supervisor, status: PluginStatusService) {
    this.#ctx = ctx;
    this.#supervisor = supervisor;
    this.#status = status;
  }

  // ---- reads -------------------------------------------------------------------------------

  /** The plugin's configuration (it holds no secrets; llamactl's `/api/v1/config` shows it). */
  get config(): Readonly<LlamaCppConfig> {
    return this.#ctx.config;
  }

  #configure: ((input: unknown) => Promise<string[]>) | undefined;

  /** Plugin init: how {@link updateConfig} applies a change (see runtime-settings.ts). */
  configure(apply: (input: unknown) => Promise<string[]>): void {
    this.#configure = apply;
  }

  /**
   * Changes the settings that may change at run time (probing, timeouts, restart policy, idle
   * check, group budgets, instance defaults), kept across restarts; resolves with the keys that
   * changed. `BAD_USER_INPUT` names a read-only or unknown key, or a bad value.
   */
  async updateConfig(input: unknown): Promise<string[]> {
    if (!this.#configure) throw new UnavailableError('The llama-cpp plugin is still starting');
    return this.#configure(input);
  }

  /** Every instance, by name, with its health, stats and in-flight count. */
  list(): LlamaInstanceView[] {
    return this.#ctx.registry.views();
  }

  /** One instance, or undefined. */
  get(name: string): LlamaInstanceView | undefined {
    return this.#ctx.registry.view(name);
  }

  /** One instance; `NOT_FOUND` when there is none of that name. */
  require(name: string): LlamaInstanceView {
    const view = this.#ctx.registry.view(name);
    if (!view) throw new NotFoundError(`Instance '${name}' not found`, { details: { name } });
    return view;
  }

  /** The last `lines` lines of the current (or last) run's log: llama-server's stdout and stderr. */
  async recentLogs(name: string, lines: number): Promise<string[]> {
    const state = this.require(name);
    if (!state.jobId) return [];
    const job = await this.#ctx.jobs.get(state.jobId);
    return job ? tailLines(job.logPath, lines) : [];
  }

  /** The GPU lease the instance's current run holds, if any. */
  gpuLease(name: string): GpuLease | undefined {
    const holder = leaseHolder(name);
    return this.#ctx.gpus.leases({ own: true }).find((l) => l.holder.kind === holder.kind && l.holder.id === holder.id);
  }

  // ---- the router's API --------------------------------------------------------------------

  /**
   * The instance a client's `model` names: an instance name first, then an alias. Undefined
   * when nothing matches (the router answers an OpenAI-style 404).
   */
  resolveModel(nameOrAlias: string): LlamaInstanceView | undefined {
    const byName = this.#ctx.registry.view(nameOrAlias);
    if (byName) return byName;
    const owner = this.#ctx.registry.list().find((s) => s.options.aliases.includes(nameOrAlias));
    return owner ? this.#ctx.registry.view(owner.name) : undefined;
  }

  /**
   * Resolves once the instance is `running` (healthy). A stopped or failed instance with
   * `onDemandStart` is started (GPU leases and group budget apply, evicting the least recently
   * used instance); concurrent callers share one start. Rejects with `UNAVAILABLE`
   * (`details.code: instance_not_running`) when it is not running and may not be started on
   * demand, `BACKEND_ERROR` when the start fails, `TIMEOUT` after `onDemandStartTimeoutMs`,
   * and `signal`'s reason when the caller gives up (a client disconnect).
   */
  async ensureRunning(name: string, signal?: AbortSignal): Promise<LlamaInstanceView> {
    const state = this.require(name);
    if (state.status === 'running') return state;
    const startable = state.status === 'stopped' || state.status === 'failed' || state.status === 'stopping';
    if (startable) {
      if (!state.options.onDemandStart) {
        throw new UnavailableError(`Instance '${name}' is not running (status ${state.status})`, { details: { name, status: state.status, code: 'instance_not_running' } });
      }
      if (state.status === 'stopping') await this.#waitFor(name, (s) => s.status !== 'stopping', signal, this.#ctx.config.onDemandStartTimeoutMs);
      await this.start(name, { manual: false }).catch((error) => {
        if (!hasErrorCode(error, 'CONFLICT') || !busyStatuses.has(this.#ctx.registry.get(name)?.status ?? '')) throw error;
      });
    }
    const settled = await this.#waitFor(name, (s) => s.status === 'running' || s.status === 'failed' || s.status === 'stopped', signal, this.#ctx.config.onDemandStartTimeoutMs);
    if (settled.status !== 'running') {
      throw new BackendError(`Instance '${name}' did not start: ${settled.message ?? settled.status}`, { details: { name, status: settled.status } });
    }
    return this.require(name);
  }

  /**
   * Counts a request proxied to an instance until the returned function is called (call it
   * when the response has ended, streamed or not). Idle stop skips instances with requests in
   * flight, eviction never picks them, and `lastRequestAt` is stamped at the start and the end.
   */
  beginRequest(name: string): () => void {
    this.require(name);
    return this.#ctx.registry.beginRequest(name);
  }

  /** Stamps `lastRequestAt` (for a request that is not counted with {@link beginRequest}). */
  touch(name: string): void {
    this.#ctx.registry.touch(name);
  }

  /** `http://host:port` of the instance's llama-server (no trailing slash). */
  baseUrl(name: string): string {
    return baseUrlOf(this.require(name));
  }

  // ---- create, update, delete -----------------------------------------------------------------

  /**
   * Creates a stopped instance (llamactl's create does not start either). `BAD_USER_INPUT` for a
   * bad name, option or flag, a model path outside the roots, missing or not GGUF; `CONFLICT`
   * for a name or alias in use, a port another instance has, or an exhausted port range.
   * Nothing is written until every check has passed.
   */
  async create(input: unknown): Promise<LlamaInstanceView> {
    const parsed = parse(createInputSchema, input);
    // One create at a time: port picking and the name check must not race another create.
    return this.#ctx.mutex.run('#create', () =>
      this.#ctx.mutex.run(parsed.name, async () => {
        const { registry, config } = this.#ctx;
        if (registry.get(parsed.name) || this.resolveModel(parsed.name)) {
          throw new ConflictError(`Instance '${parsed.name}' already exists`, { details: { name: parsed.name } });
        }
        const modelPath = await resolveModelFile(parsed.modelPath, config.modelRoots);
        const info = await readModelInfo(modelPath);
        const options = this.#resolveOptions(parsed.options, undefined, parsed.name);
        const port = parsed.port ?? (await pickPort(config.host, config.portRange, new Set(registry.list().map((s) => s.port))));
        this.#assertPortUnassigned(port, parsed.name);
        const now = new Date();
        const state: LlamaInstance = {
          name: parsed.name,
          status: 'stopped',
          message: null,
          modelPath,
          modelSizeBytes: info.sizeBytes,
          modelBlockCount: info.blockCount,
          vramEstimateMiB: estimateVramMiB(info, options.gpuLayers),
          host: config.host,
          port,
          options,
          desired: 'stopped',
          jobId: null,
          pid: null,
          pidStartTicks: null,
          gpus: [],
          leaseId: null,
          restartCount: 0,
          nextRestartAt: null,
          exitCode: null,
          lastRequestAt: null,
          createdAt: now,
          updatedAt: now,
          startedAt: null,
          readyAt: null,
          stoppedAt: null,
        };
        await registry.insert(state);
        this.#ctx.logger.info('llama instance created', { instance: state.name, port, model: modelPath });
        return this.require(state.name);
      }),
    );
  }

  /**
   * Changes a stopped instance's model, port or options. A running one is refused with
   * `CONFLICT` unless `restart` is set, which applies the change the way llamactl's update does:
   * stop, update, start again. Every value is checked before anything is changed.
   */
  async update(name: string, input: unknown, { restart = false }: { restart?: boolean } = {}): Promise<LlamaInstanceView> {
    const parsed = parse(updateInputSchema, input ?? {});
    const prepared = await this.#ctx.mutex.run(name, async () => {
      const state = this.require(name);
      const wasActive = activeStatuses.has(state.status);
      if (wasActive && !restart) {
        throw new ConflictError(`Instance '${name}' is ${state.status}: stop it first, or update with restart: true to apply the change with a restart`, {
          details: { name, status: state.status },
        });
      }
      let change: Partial<LlamaInstance> = {};
      let info = { sizeBytes: state.modelSizeBytes, blockCount: state.modelBlockCount };
      if (parsed.modelPath !== undefined) {
        const modelPath = await resolveModelFile(parsed.modelPath, this.#ctx.config.modelRoots);
        info = await readModelInfo(modelPath);
        change = { modelPath, modelSizeBytes: info.sizeBytes, modelBlockCount: info.blockCount };
      }
      const options = this.#resolveOptions(parsed.options, state.options, name);
      if (parsed.port !== undefined && parsed.port !== state.port) {
        this.#assertPortUnassigned(parsed.port, name);
        change.port = parsed.port;
      }
      change = { ...change, options, vramEstimateMiB: estimateVramMiB(info, options.gpuLayers) };
      if (!wasActive) await this.#ctx.registry.patch(name, change);
      return { change, wasActive };
    });
    if (!prepared.wasActive) return this.require(name);
    await this.stop(name);
    await this.#ctx.mutex.run(name, () => this.#ctx.registry.patch(name, prepared.change));
    return this.start(name);
  }

  /** Deletes a stopped (or failed) instance; `CONFLICT` while it runs. False when there is none. */
  async delete(name: string): Promise<boolean> {
    return this.#ctx.mutex.run(name, async () => {
      const state = this.#ctx.registry.get(name);
      if (!state) return false;
      if (activeStatuses.has(state.status)) {
        throw new ConflictError(`Instance '${name}' is ${state.status}: stop it before deleting it`, { details: { name, status: state.status } });
      }
      this.#supervisor.cancelRestart(name);
      await releaseLease(this.#ctx, name);
      await this.#ctx.registry.delete(name);
      this.#ctx.logger.info('llama instance deleted', { instance: name });
      return true;
    });
  }

  // ---- start and stop ----------------------------------------------------------------------

  /**
   * Starts a run; resolves once it is spawned (`starting`): `llamaInstanceUpdated` reports
   * `running` when `/health` answers 200. Makes room first: the group budget and busy GPUs stop
   * the least recently used idle instances. `CONFLICT` when it is already starting, running or
   * stopping, its port is in use, or no room can be made; `UNAVAILABLE` without llama-server.
   * A manual start (`manual`, the default) resets the crash-restart count.
   */
  async start(name: string, { manual = true }: { manual?: boolean } = {}): Promise<LlamaInstanceView> {
    const state = this.require(name);
    if (busyStatuses.has(state.status)) throw alreadyBusy(state);
    await this.#makeRoom(state);
    const lease = await this.#leaseMakingRoom(state);
    try {
      return await this.#ctx.mutex.run(name, async () => {
        const current = this.require(name);
        if (busyStatuses.has(current.status)) throw alreadyBusy(current);
        this.#supervisor.cancelRestart(name);
        this.#ctx.registry.resetRuntime(name);
        const started = await spawnRun(this.#ctx, current, lease, { desired: 'running', restartCount: manual ? 0 : current.restartCount });
        this.#supervisor.afterSpawn(started);
        this.#status.setReady();
        return this.require(name);
      });
    } catch (error) {
      await releaseLease(this.#ctx, name);
      throw error;
    }
  }

  /**
   * Stops an instance: SIGTERM to llama-server, SIGKILL after `timeoutSeconds` (at once with
   * `force`); resolves once it is `stopped`. Also cancels a pending crash restart. Stopping an
   * instance that is not running only records that it should stay stopped.
   */
  async stop(name: string, options: StopOptions & { message?: string } = {}): Promise<LlamaInstanceView> {
    const timeoutSeconds = options.timeoutSeconds === undefined ? this.#ctx.config.stopTimeoutSeconds : parse(stopTimeoutSchema, options.timeoutSeconds);
    return this.#ctx.mutex.run(name, async () => {
      const state = this.require(name);
      this.#supervisor.cancelRestart(name);
      if (state.status === 'stopped' || state.status === 'failed') {
        if (state.desired !== 'stopped') await this.#ctx.registry.patch(name, { desired: 'stopped' });
        return this.require(name);
      }
      const marked = await this.#ctx.registry.setStatus(name, 'stopping', { desired: 'stopped', message: options.message ?? 'stopping', nextRestartAt: null });
      const job = state.status === 'restarting' ? undefined : await terminateRun(this.#ctx, marked, { timeoutSeconds, force: options.force === true });
      if (state.status === 'restarting') await releaseLease(this.#ctx, name);
      this.#ctx.registry.resetRuntime(name);
      await this.#ctx.registry.setStatus(name, 'stopped', { message: options.message ?? null, pid: null, pidStartTicks: null, gpus: [], leaseId: null, exitCode: job?.exitCode ?? null });
      this.#ctx.logger.info('llama-server instance stopped', { instance: name, reason: options.message });
      return this.require(name);
    });
  }

  /** Stops the instance if it runs, then starts it (the crash-restart count starts again). */
  async restart(name: string, options: StopOptions = {}): Promise<LlamaInstanceView> {
    const state = this.require(name);
    if (activeStatuses.has(state.status)) await this.stop(name, options);
    return this.start(name);
  }

  /**
   * Starts every stopped or failed instance, one after another (so budgets apply in order). An
   * instance that cannot start is left `failed` with the reason in its `message`.
   */
  async startAll(): Promise<LlamaInstanceView[]> {
    for (const state of this.#ctx.registry.list()) {
      if (state.status !== 'stopped' && state.status !== 'failed') continue;
      await this.start(state.name).catch((error) =>
        this.#ctx.mutex.run(state.name, () => this.#ctx.registry.setStatus(state.name, 'failed', { message: `start failed: ${errorText(error)}` })),
      );
    }
    return this.list();
  }

  /** Stops every instance that is starting, running or restarting, all at once. */
  async stopAll(options: StopOptions = {}): Promise<LlamaInstanceView[]> {
    const active = this.#ctx.registry.list().filter((s) => activeStatuses.has(s.status) && s.status !== 'stopping');
    await Promise.all(active.map((s) => this.stop(s.name, options)));
    return this.list();
  }

  // ---- supervision hooks (scheduled by the plugin's init) -------------------------------------

  /** Stops instances idle for longer than their `idleTimeoutMinutes` (never while requests are in flight). */
  async stopIdle(): Promise<void> {
    await this.#ctx.registry.flushLastRequests();
    const now = Date.now();
    for (const state of this.#ctx.registry.list()) {
      const minutes = state.options.idleTimeoutMinutes;
      if (state.status !== 'running' || minutes <= 0 || this.#ctx.registry.inFlight(state.name) > 0) continue;
      if (now - lastUsed(state) < minutes * 60_000) continue;
      await this.stop(state.name, { message: `stopped after ${idleText(minutes)} without requests` }).catch((error) =>
        this.#ctx.logger.warn('idle stop failed', { instance: state.name, error: errorText(error) }),
      );
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  #resolveOptions(input: OptionsInput | undefined, base: LlamaInstanceOptions | undefined, name: string): LlamaInstanceOptions {
    const d = this.#ctx.config.defaults;
    const pick = <K extends keyof LlamaInstanceOptions>(key: K, fallback: LlamaInstanceOptions[K]): LlamaInstanceOptions[K] =>
      input?.[key] !== undefined ? (input[key] as LlamaInstanceOptions[K]) : base ? base[key] : fallback;
    const gpuLayers = pick('gpuLayers', d.gpuLayers);
    const options: LlamaInstanceOptions = {
      threads: pick('threads', d.threads ?? null),
      ctxSize: pick('ctxSize', d.ctxSize),
      gpuLayers,
      parallel: pick('parallel', d.parallel),
      aliases: [...new Set(pick('aliases', []))],
      extraArgs: input?.extraArgs !== undefined ? validateLlamaArgs(input.extraArgs) : (base?.extraArgs ?? []),
      gpuIndices: [...new Set(pick('gpuIndices', []))],
      // Offloading layers without a GPU of its own would use whatever GPU is there: lease one.
      gpuCount: pick('gpuCount', gpuLayers !== 0 ? 1 : 0),
      autoRestart: pick('autoRestart', true),
      maxRestarts: pick('maxRestarts', this.#ctx.config.restart.maxRestarts),
      onDemandStart: pick('onDemandStart', false),
      idleTimeoutMinutes: pick('idleTimeoutMinutes', 0),
      group: pick('group', null),
    };
    if (options.group !== null && !Object.hasOwn(this.#ctx.config.groups, options.group)) {
      const known = Object.keys(this.#ctx.config.groups);
      throw new InputError(`Unknown group '${options.group}' (configured groups: ${known.length ? known.join(', ') : 'none'})`, { details: { group: options.group } });
    }
    for (const alias of options.aliases) {
      const owner = this.resolveModel(alias);
      if (owner && owner.name !== name) throw new ConflictError(`Model name '${alias}' is already used by instance '${owner.name}'`, { details: { alias, instance: owner.name } });
    }
    return options;
  }

  #assertPortUnassigned(port: number, name: string): void {
    const other = this.#ctx.registry.list().find((s) => s.port === port && s.name !== name);
    if (other) throw new ConflictError(`Port ${port} is assigned to instance '${other.name}'`, { details: { port, instance: other.name } });
  }

  /** Stops the least recently used instances of the group until `state` fits its budget. */
  async #makeRoom(state: LlamaInstance): Promise<void> {
    const group = state.options.group;
    const budget = group === null ? undefined : this.#ctx.config.groups[group];
    if (!budget) return;
    const active = this.#ctx.registry.list().filter((s) => s.name !== state.name && activeStatuses.has(s.status) && s.status !== 'stopping');
    const plan = planEviction(this.#member(state), active.map((s) => this.#member(s)), budget);
    if (!plan.ok) throw new ConflictError(`Cannot start '${state.name}': ${plan.reason}`, { details: { name: state.name, group } });
    for (const victim of plan.victims) {
      this.#ctx.logger.info('stopping the least recently used instance of a group', { instance: victim, for: state.name, group });
      await this.stop(victim, { message: `stopped to make room for '${state.name}' in group '${group}'` });
    }
  }

  /**
   * Leases the instance's GPUs; while they are busy and one of this plugin's idle instances
   * holds GPUs, stops the least recently used of those and tries again.
   */
  async #leaseMakingRoom(state: LlamaInstance): Promise<GpuLease | undefined> {
    for (;;) {
      try {
        return await leaseGpus(this.#ctx, state);
      } catch (error) {
        if (!hasErrorCode(error, 'CONFLICT')) throw error;
        const wanted = state.options.gpuIndices;
        const holders = this.#ctx.registry
          .list()
          .filter((s) => s.name !== state.name && activeStatuses.has(s.status) && s.status !== 'stopping' && s.gpus.length > 0 && this.#ctx.registry.inFlight(s.name) === 0)
          .filter((s) => wanted.length === 0 || s.gpus.some((g) => wanted.includes(g)))
          .sort((a, b) => lastUsed(a) - lastUsed(b));
        if (holders.length === 0) throw new ConflictError(`Cannot start '${state.name}': ${errorText(error)}`, { details: { name: state.name } });
        await this.stop(holders[0].name, { message: `stopped to free GPU ${holders[0].gpus.join(',')} for '${state.name}'` });
      }
    }
  }

  #member(state: LlamaInstance): BudgetMember {
    return { name: state.name, group: state.options.group, vramEstimateMiB: state.vramEstimateMiB, inFlight: this.#ctx.registry.inFlight(state.name), lastUsedAt: lastUsed(state) };
  }

  /** Resolves with the instance once `done` holds; rejects on timeout or abort. */
  #waitFor(name: string, done: (s: LlamaInstance) => boolean, signal: AbortSignal | undefined, timeoutMs: number): Promise<LlamaInstance> {
    const { registry } = this.#ctx;
    return new Promise((resolve, reject) => {
      const check = (changed?: string) => {
        if (changed !== undefined && changed !== name) return;
        const state = registry.get(name);
        if (!state) return finish(new NotFoundError(`Instance '${name}' not found`));
        if (done(state)) finish(undefined, state);
      };
      const timer = setTimeout(() => finish(new TimeoutError(`Instance '${name}' did not become ready within ${timeoutMs} ms`, { details: { name } })), timeoutMs);
      const onAbort = () => finish(signal?.reason ?? new Error('aborted'));
      const finish = (error?: unknown, state?: LlamaInstance) => {
        clearTimeout(timer);
        registry.changes.off('change', check);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(state!);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      registry.changes.on('change', check);
      check();
    });
  }
}

/** The later of the last request and the start of the current run. */
/** `1 minute`, `5 minutes`, `30 s` (fractional minutes). */
function idleText(minutes: number): string {
  if (Number.isInteger(minutes)) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${Math.round(minutes * 600) / 10} s`;
}

function lastUsed(state: LlamaInstance): number {
  return Math.max(state.lastRequestAt?.getTime() ?? 0, state.readyAt?.getTime() ?? 0, state.startedAt?.getTime() ?? 0);
}

function alreadyBusy(state: LlamaInstance): ConflictError {
  return new ConflictError(`Instance '${state.name}' is already ${state.status}`, { details: { name: state.name, status: state.status } });
}

/** zod parse with the first issue as a `BAD_USER_INPUT` message naming the field. */
function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  throw new InputError(`Invalid input: ${where}${issue.message}`);
}

/** Checks a name argument outside GraphQL (the REST faces). */
export function checkInstanceName(name: string): string {
  return parse(instanceNameSchema, name);
}
