/** A hook run when the plugin stops; it gets the stop deadline's signal. */
export type ShutdownHook = (signal: AbortSignal) => Promise<void> | void;

/**
 * The plugin's own lifecycle. On stop, the plugin's scheduled tasks end first, then its shutdown
 * hooks run in reverse order of registration, each with a timeout (the hook's own signal aborts
 * at that deadline) and with the plugin's services still working; then `signal` aborts, which
 * cancels whatever the plugin still has running (commands, HTTP calls).
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
