import { backoffDelayMs } from './budget.ts';
import { baseUrlOf, errorText, type LlamaContext } from './context.ts';
import { parseLlamaMetrics, type LlamaMetrics } from './metrics.ts';
import { cpuPercent, sampleProcess } from './proc-stats.ts';
import { exitText, leaseGpus, releaseLease, spawnRun, terminateRun, waitForPid } from './run-control.ts';
import { tailLines } from './log-tail.ts';
import type { LlamaHealth, LlamaInstance } from './types.ts';

/** Probe interval right after a spawn, for {@link earlyProbeWindowMs}. */
const earlyProbeMs = 10;
const earlyProbeWindowMs = 1_000;

/** Lines of the run's log put into a failure message. */
const failureLogLines = 8;

/**
 * Supervises runs: waits for each run's job to end (a crash unless a stop was asked for),
 * restarts crashed and hung instances with exponential back-off up to their `maxRestarts`,
 * probes `GET /health` (`starting` → `running`; a run that stays unhealthy is killed), samples
 * /proc and `/metrics`, and stops idle instances. Methods marked "caller holds the mutex" must
 * run inside `ctx.mutex.run(name, …)`.
 */
export class Supervisor {
  readonly #ctx: LlamaContext;
  readonly #watched = new Set<string>();
  readonly #restartTimers = new Map<string, NodeJS.Timeout>();
  readonly #probing = new Set<string>();
  #closed = false;

  constructor(ctx: LlamaContext) {
    this.#ctx = ctx;
  }

  /** Follows a run's job until it ends; an end nobody asked for is a crash. */
  watch(name: string, jobId: string): void {
    if (this.#watched.has(jobId) || this.#closed) return;
    this.#watched.add(jobId);
    void this.#ctx.jobs
      .wait(jobId, { signal: this.#ctx.signal })
      .then((job) =>
        this.#ctx.mutex.run(name, async () => {
          const state = this.#ctx.registry.get(name);
          // A stop, a hang kill (already handled as a crash) or a newer run owns this end.
          if (!state || state.jobId !== jobId || state.desired !== 'running' || (state.status !== 'starting' && state.status !== 'running')) return;
          await releaseLease(this.#ctx, name);
          await this.crashed(state, `llama-server ${exitText(job)}`, { change: { exitCode: job.exitCode }, tail: await this.#tail(job.logPath) });
        }),
      )
      .catch((error) => {
        if (!this.#ctx.signal.aborted) this.#ctx.logger.warn('watching a llama-server run failed', { instance: name, job: jobId, error: errorText(error) });
      })
      .finally(() => this.#watched.delete(jobId));
  }

  /**
   * Caller holds the mutex. A run ended or was killed without a stop: restart after the back-off
   * when the policy allows, else `failed`. `tail` (the end of the run's log) ends the message.
   */
  async crashed(state: LlamaInstance, reason: string, { change = {}, tail = '' }: { change?: Partial<LlamaInstance>; tail?: string } = {}): Promise<void> {
    const { registry, config, logger } = this.#ctx;
    registry.resetRuntime(state.name);
    const { autoRestart, maxRestarts } = state.options;
    if (!autoRestart || state.restartCount >= maxRestarts || this.#closed) {
      const gaveUp = autoRestart && maxRestarts > 0 ? ` (gave up after ${state.restartCount} restart${state.restartCount === 1 ? '' : 's'})` : '';
      await registry.setStatus(state.name, 'failed', { ...change, message: `${reason}${gaveUp}${tail}`, pid: null, pidStartTicks: null, gpus: [], leaseId: null, nextRestartAt: null });
      logger.warn('llama-server instance failed', { instance: state.name, reason: reason.split('\n')[0], restarts: state.restartCount });
      return;
    }
    const attempt = state.restartCount + 1;
    const delayMs = backoffDelayMs(attempt, config.restart.initialDelayMs, config.restart.maxDelayMs);
    const at = new Date(Date.now() + delayMs);
    await registry.setStatus(state.name, 'restarting', {
      ...change,
      restartCount: attempt,
      nextRestartAt: at,
      pid: null,
      pidStartTicks: null,
      gpus: [],
      leaseId: null,
      message: `${reason}; restart ${attempt}/${maxRestarts} in ${delayMs} ms${tail}`,
    });
    logger.info('llama-server instance restarting', { instance: state.name, attempt, delayMs, reason: reason.split('\n')[0] });
    this.scheduleRestart(state.name, at);
  }

  /** Starts a `restarting` instance again at `at` (also after a daemon restart). */
  scheduleRestart(name: string, at: Date): void {
    this.cancelRestart(name);
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#restartTimers.delete(name);
      void this.#ctx.mutex
        .run(name, async () => {
          const state = this.#ctx.registry.get(name);
          if (!state || state.status !== 'restarting' || state.desired !== 'running') return;
          try {
            const lease = await leaseGpus(this.#ctx, state);
            const started = await spawnRun(this.#ctx, state, lease).catch(async (error) => {
              await releaseLease(this.#ctx, name);
              throw error;
            });
            this.afterSpawn(started);
          } catch (error) {
            await this.crashed(this.#ctx.registry.get(name)!, `restart failed: ${errorText(error)}`);
          }
        })
        .catch((error) => this.#ctx.logger.error('restarting a llama-server instance failed', { instance: name, error: errorText(error) }));
    }, Math.max(0, at.getTime() - Date.now()));
    timer.unref();
    this.#restartTimers.set(name, timer);
  }

  cancelRestart(name: string): void {
    const timer = this.#restartTimers.get(name);
    if (timer) clearTimeout(timer);
    this.#restartTimers.delete(name);
  }

  /** After a spawn: follow the job, record its pid, probe early. */
  afterSpawn(state: LlamaInstance): void {
    if (!state.jobId) return;
    this.watch(state.name, state.jobId);
    void this.#recordPid(state.name, state.jobId);
    this.probeEarly(state.name, state.jobId);
  }

  async #recordPid(name: string, jobId: string): Promise<void> {
    const job = await waitForPid(this.#ctx, jobId);
    if (!job?.pid) return;
    const sample = await sampleProcess(job.pid);
    await this.#ctx.mutex.run(name, async () => {
      const state = this.#ctx.registry.get(name);
      if (!state || state.jobId !== jobId || state.pid) return;
      await this.#ctx.registry.patch(name, { pid: job.pid, pidStartTicks: sample?.startTicks ?? null });
    });
  }

  /**
   * Probes a just-started instance every {@link earlyProbeMs} for its first second (the tiny
   * models are healthy some 20 ms after llama-server starts, and a refused loopback connection
   * costs next to nothing), then on a back-off doubling up to `healthIntervalMs`, where the
   * regular schedule takes over.
   */
  probeEarly(name: string, jobId: string, spawnedAt = performance.now(), delayMs = earlyProbeMs): void {
    if (delayMs >= this.#ctx.config.healthIntervalMs || this.#closed) return;
    setTimeout(() => {
      const state = this.#ctx.registry.get(name);
      if (!state || state.jobId !== jobId || state.status !== 'starting') return;
      const next = performance.now() - spawnedAt < earlyProbeWindowMs ? earlyProbeMs : delayMs * 2;
      void this.probe(name).finally(() => this.probeEarly(name, jobId, spawnedAt, next));
    }, delayMs).unref();
  }

  /** One health round over every starting or running instance (the scheduled task). */
  async probeAll(): Promise<void> {
    const names = this.#ctx.registry.list().filter((s) => s.status === 'starting' || s.status === 'running').map((s) => s.name);
    await Promise.all(names.map((name) => this.probe(name)));
  }

  /** Probes one instance and applies what it says. */
  async probe(name: string): Promise<void> {
    const { registry, config } = this.#ctx;
    const state = registry.get(name);
    if (!state || !state.jobId || (state.status !== 'starting' && state.status !== 'running') || this.#probing.has(name)) return;
    this.#probing.add(name);
    try {
      const health = await this.#checkHealth(state);
      await this.#ctx.mutex.run(name, async () => {
        const current = registry.get(name);
        // A stop or a new run may have happened while the probe was out.
        if (!current || current.jobId !== state.jobId || (current.status !== 'starting' && current.status !== 'running')) return;
        registry.setHealth(name, health);
        if (current.status === 'starting') {
          if (health.state === 'ok') {
            await registry.setStatus(name, 'running', { message: null });
            this.#ctx.logger.info('llama-server instance healthy', { instance: name, port: current.port, job: current.jobId });
          } else if (Date.now() - (current.startedAt ?? current.createdAt).getTime() > config.startTimeoutMs) {
            await this.#kill(current, `not healthy within ${config.startTimeoutMs} ms (${describe(health)})`);
          } else if (health.state === 'loading' && current.message !== 'loading the model') {
            await registry.patch(name, { message: 'loading the model' });
          }
          return;
        }
        if (health.state !== 'ok' && health.failureCount >= config.unhealthyThreshold) {
          await this.#kill(current, `unhealthy: ${health.failureCount} failed health checks (${describe(health)})`);
        } else if (health.state === 'ok' && current.restartCount > 0 && current.readyAt && Date.now() - current.readyAt.getTime() >= config.restart.resetAfterMs) {
          await registry.patch(name, { restartCount: 0 });
        }
      });
      await this.#sample(name, state.jobId);
    } finally {
      this.#probing.delete(name);
    }
  }

  /** Caller holds the mutex. Kills a hung run and treats it as a crash. */
  async #kill(state: LlamaInstance, reason: string): Promise<void> {
    this.#ctx.logger.warn('killing a hung llama-server run', { instance: state.name, reason });
    // Mark first, so the job's end is not also seen as a crash by the watcher.
    const marked = await this.#ctx.registry.patch(state.name, { status: 'stopping', message: reason });
    const job = await terminateRun(this.#ctx, marked, { timeoutSeconds: 5, force: false });
    await this.crashed({ ...marked, status: 'running' }, reason, { change: { exitCode: job?.exitCode ?? null }, tail: await this.#tail(job?.logPath) });
  }

  async #checkHealth(state: LlamaInstance): Promise<LlamaHealth> {
    const started = performance.now();
    const probe = await this.#ctx.http.probe(`${baseUrlOf(state)}/health`, { timeoutMs: this.#ctx.config.healthTimeoutMs });
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const previous = this.#ctx.registry.health(state.name);
    const stateOf: LlamaHealth['state'] = probe.status === 200 ? 'ok' : probe.status === 503 ? 'loading' : 'down';
    return {
      state: stateOf,
      lastCheckAt: new Date(),
      latencyMs,
      // While starting, 503s and refused connections are expected: only a serving run fails probes.
      failureCount: stateOf === 'ok' || state.status !== 'running' ? 0 : previous.failureCount + 1,
      httpStatus: probe.status ?? null,
      error: stateOf === 'ok' ? null : (probe.error ?? (probe.body ? probe.body.slice(0, 200) : null)),
    };
  }

  /** RSS, CPU and uptime from /proc; tokens/s from `/metrics` while running. */
  async #sample(name: string, jobId: string): Promise<void> {
    const state = this.#ctx.registry.get(name);
    if (!state || state.jobId !== jobId || !state.pid) return;
    const sample = await sampleProcess(state.pid);
    if (!sample || (state.pidStartTicks && sample.startTicks !== state.pidStartTicks)) return;
    let metrics: LlamaMetrics | undefined;
    if (state.status === 'running') {
      const response = await this.#ctx.http.fetch(`${baseUrlOf(state)}/metrics`, { timeoutMs: this.#ctx.config.healthTimeoutMs }).catch(() => undefined);
      if (response?.ok) metrics = parseLlamaMetrics(await response.text());
      else await response?.body?.cancel();
    }
    const previous = this.#ctx.registry.lastSample(name);
    this.#ctx.registry.setStats(
      name,
      {
        rssBytes: sample.rssBytes,
        cpuPercent: cpuPercent(previous, sample),
        uptimeSeconds: sample.uptimeSeconds,
        tokensPerSecond: metrics?.predictedTokensPerSecond ?? null,
        promptTokensPerSecond: metrics?.promptTokensPerSecond ?? null,
        tokensPredictedTotal: metrics?.tokensPredictedTotal ?? null,
        requestsProcessing: metrics?.requestsProcessing ?? null,
        sampledAt: new Date(),
      },
      sample,
    );
  }

  /** The end of a run's log, as a message suffix. */
  async #tail(logPath: string | undefined): Promise<string> {
    if (!logPath) return '';
    const lines = (await tailLines(logPath, failureLogLines).catch(() => [])).filter((l) => !l.startsWith('[backplane]'));
    return lines.length > 0 ? `; last log lines:\n${lines.join('\n')}` : '';
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#restartTimers.values()) clearTimeout(timer);
    this.#restartTimers.clear();
  }
}

function describe(health: LlamaHealth): string {
  if (health.httpStatus !== null) return `GET /health answered ${health.httpStatus}`;
  return health.error ? `GET /health: ${health.error}` : 'GET /health did not answer';
}
