/** A hook run when the plugin stops; it gets the stop deadline's signal. */
export type ShutdownHook = (signal: AbortSignal) => Promise<void> | void;

/**
 * The plugin's own lifecycle. Shutdown hooks run in reverse order of registration, each with a
 * timeout; `signal` aborts when the plugin starts stopping, so long waits can end early.
 */
export interface LifecycleService {
  readonly signal: AbortSignal;
  onShutdown(hook: ShutdownHook): void;
}

/** Lets a plugin report its own health after init (a backend that disappears or comes back). */
export interface PluginStatusService {
  /** The plugin works, but its backend is missing or broken; `reason` is shown in `Query.plugins`. */
  setDegraded(reason: string): void;
  setReady(message?: string): void;
}

export type PluginStatus = 'pending' | 'starting' | 'ready' | 'degraded' | 'failed' | 'stopping' | 'stopped';
