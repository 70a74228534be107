import type { GpuInfo, Logger, ProcessService } from '../../core/plugin-api.ts';
import { attachProcesses, computeAppFields, gpuQueryFields, parseComputeAppRow, parseGpuRow, splitCsvLine, type ComputeAppRow, type GpuRow } from './csv.ts';
import { buildQueryArgs, describeFailure } from './nvidia-smi.ts';
import { startLoopProcess, type LoopExit, type LoopProcess } from './nvidia-smi-loop.ts';

export interface LoopSamplerOptions {
  bin: string;
  intervalMs: number;
  /** No GPU sample for this long restarts the loop. */
  staleMs: number;
  /** The plugin's process service, which stops the loops when the plugin stops. */
  processes: ProcessService;
  logger: Logger;
  onSample(gpus: GpuInfo[]): void;
  onFailure(reason: string): void;
}

/** Longest wait before restarting a loop that ended. */
const maxBackoffMs = 30_000;

/**
 * Samples with two long-lived `nvidia-smi --loop-ms` processes, one for `--query-gpu` and one for
 * `--query-compute-apps` (nvidia-smi answers one query kind per run). When either ends, both are
 * stopped, the failure is reported, and both start again after a growing delay.
 */
export class LoopSampler {
  readonly #o: LoopSamplerOptions;
  #session: LoopProcess[] = [];
  #pending: GpuRow[] = [];
  /** Compute processes by `pid/gpu`, with when they were last printed. */
  readonly #apps = new Map<string, { row: ComputeAppRow; seenAt: number }>();
  #staleReason: string | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;

  constructor(options: LoopSamplerOptions) {
    this.#o = options;
  }

  /**
   * Starts the loops, after `delayMs` (a loop prints its first tick at once: right after a
   * one-shot sample, that tick would only repeat it). `seed` is what a one-shot query just saw,
   * so the first samples know the processes.
   */
  start(seed: readonly GpuInfo[] = [], delayMs = 0): void {
    const begin = () => {
      // Seen "now": the seed lasts as long as a printed row, counted from the loops' start.
      const now = Date.now();
      for (const gpu of seed) for (const p of gpu.processes) this.#apps.set(`${p.pid}/${gpu.uuid}`, { row: { ...p, gpuUuid: gpu.uuid, gpuBusId: '' }, seenAt: now });
      this.#startSession();
    };
    if (delayMs > 0) this.#restartTimer = setTimeout(begin, delayMs);
    else begin();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of [this.#flushTimer, this.#watchdog, this.#restartTimer]) clearTimeout(timer);
    await Promise.all(this.#session.map((p) => p.stop()));
  }

  /** Pids of the running nvidia-smi processes (for tests and diagnostics). */
  get pids(): number[] {
    return this.#session.map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
  }

  #startSession(): void {
    if (this.#stopped) return;
    const { bin, intervalMs, processes } = this.#o;
    this.#staleReason = undefined;
    // What each process printed that is not data: nvidia-smi's own error message, if it fails.
    const gpuText: string[] = [];
    const appText: string[] = [];
    const gpus = startLoopProcess({ processes, bin, args: buildQueryArgs('gpus', intervalMs), onLine: (line) => this.#onGpuLine(line) || keepLast(gpuText, line) });
    const apps = startLoopProcess({ processes, bin, args: buildQueryArgs('compute-apps', intervalMs), onLine: (line) => this.#onAppLine(line) || keepLast(appText, line) });
    this.#session = [gpus, apps];
    this.#armWatchdog();
    void Promise.race([gpus.ended.then((exit) => ({ exit, text: gpuText })), apps.ended.then((exit) => ({ exit, text: appText }))]).then(({ exit, text }) => this.#onSessionEnd(exit, text));
  }

  async #onSessionEnd(exit: LoopExit, text: string[]): Promise<void> {
    await Promise.all(this.#session.map((p) => p.stop()));
    clearTimeout(this.#watchdog);
    clearTimeout(this.#flushTimer);
    this.#pending = [];
    if (this.#stopped) return;
    const reason = this.#staleReason ?? describeFailure({ bin: this.#o.bin, ...exit, output: text.join('\n') });
    this.#o.onFailure(reason);
    const delay = Math.min(maxBackoffMs, 1000 * 2 ** Math.min(this.#failures, 5));
    this.#failures++;
    this.#o.logger.debug('nvidia-smi loop ended; restarting', { reason, delayMs: delay });
    this.#restartTimer = setTimeout(() => this.#startSession(), delay);
  }

  /** Takes one line of the GPU loop; false when it is not a GPU row. */
  #onGpuLine(line: string): boolean {
    let row: GpuRow;
    try {
      row = parseGpuRow(splitCsvLine(line, gpuQueryFields.length));
    } catch {
      return false;
    }
    // A GPU seen twice means the previous tick is complete.
    if (this.#pending.some((r) => r.index === row.index)) this.#flush();
    this.#pending.push(row);
    // Otherwise a tick ends when its lines stop coming. Counting rows would not do: a GPU count
    // that grows would split each new tick at the old count.
    clearTimeout(this.#flushTimer);
    this.#flushTimer = setTimeout(() => this.#flush(), Math.min(50, this.#o.intervalMs / 4));
    return true;
  }

  /** Takes one line of the compute-apps loop; false when it is not a process row. */
  #onAppLine(line: string): boolean {
    try {
      const row = parseComputeAppRow(splitCsvLine(line, computeAppFields.length));
      this.#apps.set(`${row.pid}/${row.gpuUuid}`, { row, seenAt: Date.now() });
      return true;
    } catch {
      return false;
    }
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    if (this.#pending.length === 0) return;
    const rows = this.#pending;
    this.#pending = [];
    // The compute-apps loop prints nothing for a tick without processes, so a process counts
    // as present while it was printed within the last tick and a half.
    const now = Date.now();
    const horizon = now - (this.#o.intervalMs * 1.5 + 250);
    for (const [key, app] of this.#apps) if (app.seenAt < horizon) this.#apps.delete(key);
    this.#failures = 0;
    this.#armWatchdog();
    this.#o.onSample(attachProcesses(rows, [...this.#apps.values()].map((a) => a.row), new Date(now)));
  }

  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      this.#staleReason = `nvidia-smi sent no sample for ${this.#o.staleMs} ms`;
      for (const p of this.#session) void p.stop();
    }, this.#o.staleMs);
  }
}

/** Keeps the last few lines of a process's non-data output. */
function keepLast(lines: string[], line: string): void {
  if (line.trim() === '') return;
  lines.push(line);
  if (lines.length > 5) lines.shift();
}
