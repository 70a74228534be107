import { describeError, isBackplaneError, KernelError, UnavailableError } from '../errors.ts';
import type { PluginDefinition, PluginServices } from '../plugin-api.ts';
import type { PluginStatus, ShutdownHook } from '../services/lifecycle-service.ts';
import type { Logger } from '../services/logger-service.ts';
import { withTimeout } from '../util/with-timeout.ts';

/** What `Query.plugins` shows. */
export interface PluginState {
  id: string;
  version: string;
  status: PluginStatus;
  message: string | null;
  /** Milliseconds init took, once it ended. */
  initMs: number | null;
}

/** The per-plugin resources the kernel owns and tears down on stop. */
export interface PluginScope {
  readonly signal: AbortSignal;
  readonly shutdownHooks: ShutdownHook[];
  setStatus(status: PluginStatus, message?: string | null): void;
}

export interface PluginHostOptions {
  /** In dependency order (see orderPlugins). */
  plugins: readonly PluginDefinition[];
  logger: Logger;
  initTimeoutMs: number;
  stopTimeoutMs: number;
  /** Builds the plugin-scoped services for init. */
  createServices(definition: PluginDefinition, scope: PluginScope): PluginServices;
  /** Releases kernel-side resources of a plugin (scheduled tasks, …) after its hooks ran. */
  releaseScope?(definition: PluginDefinition): Promise<void> | void;
  onStatusChange?(state: PluginState): void;
}

interface Entry {
  definition: PluginDefinition;
  state: PluginState;
  api: unknown;
  hasApi: boolean;
  controller: AbortController;
  hooks: ShutdownHook[];
  /** A status the plugin reported during init, applied once init returns. */
  reported?: { status: PluginStatus; message: string | null };
}

/**
 * Boots plugins in dependency order (independent ones concurrently), each init under a timeout,
 * applying each plugin's failure policy; stops them one at a time in reverse dependency order,
 * idempotently.
 */
export class PluginHost {
  readonly #options: PluginHostOptions;
  readonly #entries = new Map<string, Entry>();
  #stopping: Promise<void> | undefined;

  constructor(options: PluginHostOptions) {
    this.#options = options;
    for (const definition of options.plugins) {
      this.#entries.set(definition.id, {
        definition,
        state: { id: definition.id, version: definition.version, status: 'pending', message: null, initMs: null },
        api: undefined,
        hasApi: false,
        controller: new AbortController(),
        hooks: [],
      });
    }
  }

  list(): PluginState[] {
    return [...this.#entries.values()].map((e) => ({ ...e.state }));
  }

  /** Every plugin has finished init (whatever the outcome). */
  get booted(): boolean {
    return [...this.#entries.values()].every((e) => e.state.status !== 'pending' && e.state.status !== 'starting');
  }

  /** The runtime API of a started plugin; a coded UNAVAILABLE error otherwise. */
  api(pluginId: string): unknown {
    const entry = this.#entries.get(pluginId);
    if (!entry) throw new UnavailableError(`Plugin '${pluginId}' is not enabled`);
    if (!entry.hasApi) {
      const why = entry.state.message ? `: ${entry.state.message}` : '';
      throw new UnavailableError(`Plugin '${pluginId}' is ${entry.state.status}${why}`, { details: { plugin: pluginId } });
    }
    return entry.api;
  }

  /**
   * Starts every plugin, each as soon as all its (optional, enabled) dependencies have settled,
   * so independent plugins init concurrently while a plugin's init still sees what its
   * dependencies registered in theirs. An `abort` failure starts nothing more; the plugins
   * already starting settle first, then the first such error is thrown.
   */
  async startAll(): Promise<void> {
    // Entries are in dependency order, so each dependency's promise exists before its dependents'.
    const settled = new Map<string, Promise<void>>();
    let aborted: { error: unknown } | undefined;
    for (const entry of this.#entries.values()) {
      const { id, dependsOn = [], optionalDependsOn = [] } = entry.definition;
      const deps = [...dependsOn, ...optionalDependsOn].flatMap((dep) => settled.get(dep) ?? []);
      const done = Promise.all(deps).then(async () => {
        if (this.#stopping || aborted) return;
        await this.#start(entry).catch((error: unknown) => void (aborted ??= { error }));
      });
      settled.set(id, done);
    }
    await Promise.all(settled.values());
    if (aborted) throw aborted.error;
  }

  async #start(entry: Entry): Promise<void> {
    const { definition } = entry;
    const log = this.#options.logger.child({ plugin: definition.id });
    const blocked = (definition.dependsOn ?? []).map((dep) => this.#entries.get(dep)!).find((dep) => !dep.hasApi);
    if (blocked) {
      this.#setStatus(entry, 'degraded', `dependency '${blocked.definition.id}' is ${blocked.state.status}`);
      log.warn('plugin not started', { reason: entry.state.message });
      return;
    }
    this.#setStatus(entry, 'starting');
    const scope: PluginScope = {
      signal: entry.controller.signal,
      shutdownHooks: entry.hooks,
      // While init runs, a reported status waits: the plugin is not ready before it has an API.
      setStatus: (status, message) => {
        if (entry.state.status === 'starting' && !entry.hasApi) entry.reported = { status, message: message ?? null };
        else this.#setStatus(entry, status, message);
      },
    };
    const started = performance.now();
    const timeoutMs = definition.initTimeoutMs ?? this.#options.initTimeoutMs;
    try {
      const services = this.#options.createServices(definition, scope);
      const api = await withTimeout(Promise.resolve(definition.init?.(services)), timeoutMs, () =>
        new KernelError('BP_ERR_PLUGIN_INIT_TIMEOUT', `plugin '${definition.id}' init did not finish within ${timeoutMs} ms`),
      );
      entry.api = api;
      entry.hasApi = true;
      entry.state.initMs = Math.round(performance.now() - started);
      // init may have reported `degraded` (or `ready` with a message) through the status service.
      const reported = entry.reported;
      entry.reported = undefined;
      this.#setStatus(entry, reported?.status ?? 'ready', reported?.message ?? null);
      log.info('plugin started', { status: entry.state.status, ms: entry.state.initMs });
    } catch (error) {
      entry.state.initMs = Math.round(performance.now() - started);
      const unavailable = isBackplaneError(error) && error.code === 'UNAVAILABLE';
      this.#setStatus(entry, unavailable ? 'degraded' : 'failed', describeError(error));
      log[unavailable ? 'warn' : 'error']('plugin init failed', { error, status: entry.state.status });
      // Its scheduled tasks and hooks may exist already; release them now.
      await this.#stopEntry(entry, log);
      this.#setStatus(entry, unavailable ? 'degraded' : 'failed', describeError(error));
      if ((definition.onInitFailure ?? 'degrade') === 'abort') {
        throw new KernelError('BP_ERR_PLUGIN_INIT_FAILED', `plugin '${definition.id}': ${describeError(error)}`, { cause: error });
      }
    }
  }

  /**
   * Stops every plugin, one at a time, in the reverse of the dependency order the host was given
   * (dependents before their dependencies; the same order whatever finished init first). Safe to
   * call more than once.
   */
  stopAll(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const entry of [...this.#entries.values()].reverse()) {
        if (entry.state.status === 'stopped' || entry.state.status === 'pending') continue;
        const log = this.#options.logger.child({ plugin: entry.definition.id });
        const hadApi = entry.hasApi;
        this.#setStatus(entry, 'stopping');
        await this.#stopEntry(entry, log);
        entry.hasApi = false;
        this.#setStatus(entry, 'stopped', hadApi ? null : entry.state.message);
      }
    })();
    return this.#stopping;
  }

  async #stopEntry(entry: Entry, log: Logger): Promise<void> {
    // Background work (scheduled tasks) ends first; then the hooks run while the plugin's
    // services still work (a hook may stop a container); only then is everything left cancelled.
    try {
      await this.#options.releaseScope?.(entry.definition);
    } catch (error) {
      log.error('releasing plugin resources failed', { error });
    }
    // Hooks run last-registered first, like fastify's onClose: what started last stops first.
    for (const hook of entry.hooks.splice(0).reverse()) {
      const signal = AbortSignal.timeout(this.#options.stopTimeoutMs);
      try {
        await withTimeout(Promise.resolve(hook(signal)), this.#options.stopTimeoutMs, () => new Error(`shutdown hook timed out after ${this.#options.stopTimeoutMs} ms`));
      } catch (error) {
        log.error('shutdown hook failed', { error });
      }
    }
    entry.controller.abort(new Error('plugin stopped'));
  }

  #setStatus(entry: Entry, status: PluginStatus, message: string | null = null): void {
    if (entry.state.status === status && entry.state.message === message) return;
    entry.state.status = status;
    entry.state.message = message;
    this.#options.onStatusChange?.({ ...entry.state });
  }
}
