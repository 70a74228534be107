import { rm } from 'node:fs/promises';
import type { GpuService, Logger } from '../../core/plugin-api.ts';
import { workerCommand, type TinkerConfig } from './config.ts';
import { WorkerProcess } from './worker-process.ts';

/**
 * Hands out worker processes: with `workerPer: model` each training model and each sampler gets
 * a process of its own (so a sample never waits behind a training step, and a crash takes one
 * model down); with `workerPer: gpu` up to `maxWorkers` shared processes, each holding its GPU
 * lease, are filled least-loaded first.
 */
export class WorkerPool {
  readonly #config: TinkerConfig;
  readonly #logger: Logger;
  readonly #gpus: GpuService;
  readonly #makeSocketDir: () => Promise<string>;
  #socketDir: Promise<string> | undefined;
  readonly #workers = new Map<string, { worker: WorkerProcess; units: Set<string> }>();
  readonly #byUnit = new Map<string, WorkerProcess>();
  /** group → worker id. */
  readonly #groups = new Map<string, string>();
  readonly #onWorker: (worker: WorkerProcess) => void;
  #counter = 0;

  constructor({ config, logger, gpus, socketDir, onWorker }: { config: TinkerConfig; logger: Logger; gpus: GpuService; socketDir: () => Promise<string>; onWorker: (worker: WorkerProcess) => void }) {
    this.#config = config;
    this.#logger = logger;
    this.#gpus = gpus;
    this.#makeSocketDir = socketDir;
    this.#onWorker = onWorker;
  }

  /** Every worker process, with the units (model and sampler ids) it holds. */
  list(): { worker: WorkerProcess; units: string[] }[] {
    return [...this.#workers.values()].map(({ worker, units }) => ({ worker, units: [...units] }));
  }

  workerOf(unitId: string): WorkerProcess | undefined {
    return this.#byUnit.get(unitId);
  }

  unitsOf(workerId: string): string[] {
    return [...(this.#workers.get(workerId)?.units ?? [])];
  }

  /**
   * The worker a new unit lives in; resolves once it is ready. Units of one `group` share a
   * worker with `workerPer: model` (every sampler synced from one model: an RL loop makes one
   * per iteration, and each would otherwise cost a process).
   */
  async assign(unitId: string, group?: string): Promise<WorkerProcess> {
    const existing = this.#byUnit.get(unitId);
    if (existing) {
      await existing.ready();
      return existing;
    }
    let entry: { worker: WorkerProcess; units: Set<string> } | undefined;
    if (this.#config.workerPer === 'gpu' && this.#workers.size >= this.#config.maxWorkers) {
      entry = [...this.#workers.values()].sort((a, b) => a.units.size - b.units.size)[0];
    } else if (group !== undefined && this.#config.workerPer === 'model') {
      const id = this.#groups.get(group);
      entry = id === undefined ? undefined : this.#workers.get(id);
    }
    if (!entry) {
      this.#socketDir ??= this.#makeSocketDir();
      const socketDir = await this.#socketDir;
      const { command, args, env } = workerCommand(this.#config);
      const w = this.#config.worker;
      const worker = new WorkerProcess({
        id: `w${++this.#counter}-${process.pid}`,
        command,
        args,
        env,
        socketDir,
        logger: this.#logger,
        gpus: this.#gpus,
        gpuCount: this.#config.gpusPerWorker,
        startTimeoutMs: w.startTimeoutMs,
        heartbeatTimeoutMs: w.heartbeatTimeoutMs,
        restartInitialMs: w.restartInitialMs,
        restartMaxMs: w.restartMaxMs,
        shutdownGraceMs: w.shutdownGraceMs,
      });
      entry = { worker, units: new Set() };
      this.#workers.set(worker.id, entry);
      if (group !== undefined) this.#groups.set(group, worker.id);
      this.#onWorker(worker);
    }
    entry.units.add(unitId);
    this.#byUnit.set(unitId, entry.worker);
    try {
      await entry.worker.ready();
    } catch (error) {
      await this.release(unitId);
      // Sharing mode: when no further GPU (or process) can be had, share the least-loaded worker.
      const others = [...this.#workers.values()].filter((e) => e.worker.status === 'ready').sort((a, b) => a.units.size - b.units.size);
      if (this.#config.workerPer === 'gpu' && others.length > 0) {
        others[0].units.add(unitId);
        this.#byUnit.set(unitId, others[0].worker);
        return others[0].worker;
      }
      throw error;
    }
    return entry.worker;
  }

  /** A unit is gone; its worker stops once it holds nothing (always, with `workerPer: model`). */
  async release(unitId: string): Promise<void> {
    const worker = this.#byUnit.get(unitId);
    this.#byUnit.delete(unitId);
    if (!worker) return;
    const entry = this.#workers.get(worker.id);
    entry?.units.delete(unitId);
    if (entry && entry.units.size === 0) {
      this.#workers.delete(worker.id);
      for (const [group, id] of this.#groups) if (id === worker.id) this.#groups.delete(group);
      await worker.stop();
    }
  }

  async stopAll(): Promise<void> {
    const all = [...this.#workers.values()];
    this.#workers.clear();
    this.#byUnit.clear();
    this.#groups.clear();
    try {
      await Promise.all(all.map(({ worker }) => worker.stop()));
    } finally {
      const dir = await this.#socketDir?.catch(() => undefined);
      this.#socketDir = undefined;
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }
}
