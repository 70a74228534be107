import { errorText, leaseHolder, type VllmContext } from './context.ts';
import { LogStreams } from './log-streams.ts';
import { probeVllm } from './readiness.ts';
import type { ServerState } from './server-registry.ts';
import { activeStatuses } from './types.ts';

/** A container's state as `podman ps` or `podman inspect` reports it. */
export interface ContainerFacts {
  state: string;
  exitCode: number | null;
}

/** Container states in which podman has not started the process yet. */
export const notStartedStates: ReadonlySet<string> = new Set(['created', 'configured', 'initialized']);

/**
 * Watches active servers: streams their output (see {@link LogStreams}), probes loading ones
 * until they answer, and settles a server when its container ends. Methods marked "caller holds
 * the mutex" must run inside `ctx.mutex.run(name, …)`.
 */
export class ServerMonitor {
  readonly logs: LogStreams;
  readonly #ctx: VllmContext;
  readonly #probing = new Set<string>();

  constructor(ctx: VllmContext) {
    this.#ctx = ctx;
    this.logs = new LogStreams(ctx, {
      // podman ends the stream when the container stops: find out how it ended.
      onEnded: (name) => this.refresh(name).catch((error) => ctx.logger.warn('refreshing a vLLM server failed', { server: name, error: errorText(error) })),
      onReadyHint: (name) => void this.probe(name),
    });
  }

  /** Re-reads the container of an active server and applies what it says. */
  async refresh(name: string): Promise<void> {
    await this.#ctx.mutex.run(name, async () => {
      const state = this.#ctx.registry.get(name);
      if (!state || state.desired !== 'running' || !isActive(state)) return;
      const container = state.containerId ? await this.#ctx.podman.inspect(state.containerId) : undefined;
      await this.settle(state, container);
    });
  }

  /** Caller holds the mutex. Applies a container's state to an active server. */
  async settle(state: ServerState, container: ContainerFacts | undefined): Promise<void> {
    if (!container) {
      await this.finish(state, 'failed', 'The container disappeared (removed outside backplane, or the host restarted)', null);
      return;
    }
    if (container.state === 'running') {
      if (state.status === 'starting') await this.#ctx.registry.setStatus(state.name, 'loading', { message: 'waiting for GET /health' });
      this.logs.follow(this.#ctx.registry.get(state.name)!);
      return;
    }
    if (notStartedStates.has(container.state)) return;
    const code = container.exitCode;
    // vLLM exits 0 on SIGTERM; 143 is SIGTERM through an init process.
    if (state.status === 'running' && (code === 0 || code === 143)) {
      await this.finish(state, 'stopped', `The container exited (code ${code})`, code);
      return;
    }
    const when = state.status === 'running' ? 'after serving' : 'while loading';
    await this.finish(state, 'failed', `The container exited with code ${code ?? 'unknown'} ${when}${await this.#tail(state)}`, code);
  }

  /** Caller holds the mutex. Ends a run: container stopped and removed, GPUs released, job settled. */
  async finish(state: ServerState, status: 'stopped' | 'failed', message: string, exitCode: number | null): Promise<void> {
    const { podman, config, jobs, gpus, logger, registry } = this.#ctx;
    const target = state.containerId ?? state.containerName;
    const warn = (what: string) => (error: unknown) => logger.warn(what, { server: state.name, error: errorText(error) });
    await podman.stop(target, config.stopTimeoutSeconds).catch(warn('podman stop failed'));
    // The stream ends with the container; its last lines belong in the job log.
    await this.logs.drained(state.name);
    await podman.remove(target).catch(warn('podman rm failed'));
    if (state.containerId) this.logs.forget(state.containerId);
    await gpus.releaseHolder(leaseHolder(state.name)).catch(warn('releasing the GPU lease failed'));
    if (state.jobId) {
      await jobs.appendLog(state.jobId, `[backplane] ${message}\n`).catch(() => undefined);
      const outcome = status === 'failed' ? { status: 'failed' as const, reason: message.split('\n')[0] } : { status: 'succeeded' as const };
      await jobs.settle(state.jobId, outcome).catch(warn('settling the server job failed'));
    }
    await registry.setStatus(state.name, status, { message: capMessage(message), exitCode, containerId: null, gpus: [] });
    logger.info('vLLM server ended', { server: state.name, status, exitCode, job: state.jobId });
  }

  /**
   * Probes a just-started server on a short back-off (25 ms, doubling up to `probeIntervalMs`):
   * small models answer before the log stream could say so, and a refused loopback connection
   * costs next to nothing. The regular schedule takes over after.
   */
  probeEarly(name: string, jobId: string, delayMs = 25): void {
    if (delayMs >= this.#ctx.config.probeIntervalMs || this.#ctx.signal.aborted) return;
    setTimeout(() => {
      const state = this.#ctx.registry.get(name);
      if (!state || state.jobId !== jobId || state.status !== 'loading') return;
      void this.probe(name).finally(() => this.probeEarly(name, jobId, delayMs * 2));
    }, delayMs).unref();
  }

  /** Probes a loading server; running when it answers, failed when dead or overdue. */
  async probe(name: string): Promise<void> {
    const state = this.#ctx.registry.get(name);
    if (!state || state.status !== 'loading' || this.#probing.has(name)) return;
    this.#probing.add(name);
    try {
      const outcome = await probeVllm(this.#ctx.http, state);
      await this.#ctx.mutex.run(name, async () => {
        const current = this.#ctx.registry.get(name);
        // A stop or a new run may have happened while the probe was out.
        if (!current || current.jobId !== state.jobId || current.status !== 'loading') return;
        const overdue = Date.now() - (current.startedAt ?? current.createdAt).getTime() > this.#ctx.config.loadTimeoutMs;
        if (outcome.state === 'ready') await this.#ctx.registry.setStatus(name, 'running', { message: null });
        else if (outcome.state === 'dead') await this.finish(current, 'failed', `${outcome.reason}${await this.#tail(current)}`, null);
        else if (overdue) await this.finish(current, 'failed', `vLLM did not become ready within ${this.#ctx.config.loadTimeoutMs} ms${await this.#tail(current)}`, null);
        else if (current.message !== outcome.reason) await this.#ctx.registry.patch(name, { message: outcome.reason });
      });
    } finally {
      this.#probing.delete(name);
    }
  }

  /** Health check of a running server: a dead engine fails it; other problems are noted. */
  async checkRunning(name: string): Promise<void> {
    const state = this.#ctx.registry.get(name);
    if (!state || state.status !== 'running') return;
    const outcome = await probeVllm(this.#ctx.http, state);
    await this.#ctx.mutex.run(name, async () => {
      const current = this.#ctx.registry.get(name);
      if (!current || current.jobId !== state.jobId || current.status !== 'running') return;
      if (outcome.state === 'dead') await this.finish(current, 'failed', `${outcome.reason}${await this.#tail(current)}`, null);
      else {
        const message = outcome.state === 'ready' ? null : `Health check failed: ${outcome.reason}`;
        if (current.message !== message) await this.#ctx.registry.patch(name, { message });
      }
    });
  }

  /** The last `failureLogLines` lines of the container, as a message suffix. */
  async #tail(state: ServerState): Promise<string> {
    const lines = this.#ctx.config.failureLogLines;
    if (lines === 0) return '';
    const tail = await this.#ctx.podman.logTail(state.containerId ?? state.containerName, lines).catch(() => []);
    return tail.length > 0 ? `; last log lines:\n${tail.join('\n')}` : '';
  }
}

export function isActive(state: Pick<ServerState, 'status'>): boolean {
  return activeStatuses.has(state.status);
}

/** Messages end up in every list answer: keep the start and the (more telling) end of long ones. */
function capMessage(message: string, max = 8_192): string {
  return message.length <= max ? message : `${message.slice(0, 1_024)}\n[…]\n${message.slice(-(max - 1_100))}`;
}
