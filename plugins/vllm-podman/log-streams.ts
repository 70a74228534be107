import type { VllmContext } from './context.ts';
import { followLogs } from './log-follower.ts';
import { isReadyHint } from './readiness.ts';
import type { ServerState } from './server-registry.ts';

export interface LogStreamEvents {
  /** A stream ended: usually the container stopped. */
  onEnded(name: string): Promise<void>;
  /** A line says the HTTP server is up (a hint to probe now). */
  onReadyHint(name: string): void;
}

/**
 * One `podman logs --follow` per active server, copying its container's output into the run's
 * `v-` job log (so it streams through `jobLog` and `/jobs/{id}/logs` like any job), and keeping
 * the timestamp of the last copied line so a restarted daemon resumes without repeats.
 */
export class LogStreams {
  readonly #ctx: VllmContext;
  readonly #events: LogStreamEvents;
  readonly #followers = new Map<string, { containerId: string; done: Promise<void> }>();
  readonly #cursors = new Map<string, { cursor: string; timer: NodeJS.Timeout | undefined }>();
  /** Per container: wait before re-attaching (negative while a wait is scheduled). */
  readonly #backoff = new Map<string, number>();
  readonly #waiting = new Set<string>();

  constructor(ctx: VllmContext, events: LogStreamEvents) {
    this.#ctx = ctx;
    this.#events = events;
  }

  isFollowing(name: string): boolean {
    return this.#followers.has(name);
  }

  /** Starts following the server's container (from its saved cursor), unless it already is. */
  follow(state: ServerState): void {
    const { name, containerId, jobId } = state;
    if (!containerId || !jobId || this.#ctx.signal.aborted || this.#followers.get(name)?.containerId === containerId) return;
    const wait = this.#backoff.get(containerId) ?? 0;
    if (wait === 0) return this.#attach(state, containerId, jobId);
    if (this.#waiting.has(name)) return;
    // The last stream of this container ended at once while it kept running: no respawn loop.
    this.#waiting.add(name);
    this.#backoff.set(containerId, -Math.abs(wait));
    setTimeout(() => {
      this.#waiting.delete(name);
      const current = this.#ctx.registry.get(name);
      if (!this.#ctx.signal.aborted && current?.containerId === containerId && current.desired === 'running') this.#attach(current, containerId, jobId);
    }, Math.abs(wait)).unref();
  }

  /** The container is gone for good: drop its bookkeeping. */
  forget(containerId: string): void {
    this.#backoff.delete(containerId);
  }

  /** Waits (at most `timeoutMs`) until the container's last lines are in the job log. */
  async drained(name: string, timeoutMs = 5_000): Promise<void> {
    const follower = this.#followers.get(name);
    if (follower) await Promise.race([follower.done, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** Waits for the streams to end (the plugin's signal stops them) and saves every cursor. */
  async close(): Promise<void> {
    await Promise.race([Promise.all([...this.#followers.values()].map((f) => f.done)), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
    await Promise.all([...this.#cursors.keys()].map((name) => this.#flushCursor(name)));
  }

  #attach(state: ServerState, containerId: string, jobId: string): void {
    const { name } = state;
    const startedAt = Date.now();
    const { done } = followLogs({
      processes: this.#ctx.processes,
      podmanPath: this.#ctx.podman.path,
      container: containerId,
      since: state.logCursor,
      signal: this.#ctx.signal,
      onLines: async (lines, cursor) => {
        await this.#ctx.jobs.appendLog(jobId, lines.map((line) => `${line}\n`).join(''));
        if (cursor) this.#saveCursorSoon(name, cursor);
      },
      onLine: (line) => {
        if (isReadyHint(line)) this.#events.onReadyHint(name);
      },
    });
    const entry = { containerId, done };
    this.#followers.set(name, entry);
    void done.then(async () => {
      if (this.#followers.get(name) === entry) this.#followers.delete(name);
      const previous = Math.abs(this.#backoff.get(containerId) ?? 0);
      this.#backoff.set(containerId, Date.now() - startedAt < 5_000 ? Math.min(Math.max(previous * 2, 1_000), 60_000) : 0);
      await this.#flushCursor(name);
      if (!this.#ctx.signal.aborted) await this.#events.onEnded(name);
    });
  }

  #saveCursorSoon(name: string, cursor: string): void {
    const entry = this.#cursors.get(name);
    if (entry) {
      entry.cursor = cursor;
      return;
    }
    // At most one write a second per server: a daemon crash repeats at most a second of output.
    const timer = setTimeout(() => void this.#flushCursor(name), 1_000);
    timer.unref();
    this.#cursors.set(name, { cursor, timer });
  }

  async #flushCursor(name: string): Promise<void> {
    const entry = this.#cursors.get(name);
    if (!entry) return;
    this.#cursors.delete(name);
    if (entry.timer) clearTimeout(entry.timer);
    await this.#ctx.registry.saveCursor(name, entry.cursor).catch(() => undefined);
  }
}
