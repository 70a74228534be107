import { EventEmitter } from 'node:events';
import type { DatabaseService, PubSubService } from '../../core/plugin-api.ts';
import { LlamaInstanceEntity, type LlamaInstanceRow } from './entities.ts';
import type { ProcSample } from './proc-stats.ts';
import type { LlamaHealth, LlamaInstance, LlamaInstanceStatus, LlamaStats } from './types.ts';

/** An instance with its live facts, as GraphQL and the router read it. A copy: later changes do not show through. */
export interface LlamaInstanceView extends LlamaInstance {
  health: LlamaHealth;
  stats: LlamaStats | null;
  /** Requests being proxied to it right now. */
  inFlight: number;
}

/** Live facts kept in memory only. */
interface Runtime {
  health: LlamaHealth;
  stats: LlamaStats | null;
  sample: ProcSample | undefined;
  inFlight: number;
}

/** The pubsub topic of instance changes (`llama-cpp:instances` from outside the plugin). */
export const instancesTopic = 'instances';

const unknownHealth = (): LlamaHealth => ({ state: 'unknown', lastCheckAt: null, latencyMs: null, failureCount: 0, httpStatus: null, error: null });

/**
 * The instances the plugin runs: kept in memory for reads, written through to `llama_instances`
 * on every change, and published on {@link instancesTopic} when their status or health changes.
 * `changes` emits the name of every changed instance (for in-process waiters such as an
 * on-demand start).
 */
export class InstanceRegistry {
  readonly changes = new EventEmitter();
  readonly #instances = new Map<string, LlamaInstance>();
  readonly #runtime = new Map<string, Runtime>();
  readonly #db: DatabaseService;
  readonly #pubsub: PubSubService;
  readonly #onChange: ((instance: LlamaInstance) => void) | undefined;

  /** `onChange` sees every instance after it changed (publishing its model endpoint). */
  constructor({ db, pubsub, onChange }: { db: DatabaseService; pubsub: PubSubService; onChange?: (instance: LlamaInstance) => void }) {
    this.#db = db;
    this.#pubsub = pubsub;
    this.#onChange = onChange;
    this.changes.setMaxListeners(0);
  }

  async load(): Promise<void> {
    const rows = await this.#db.em().find(LlamaInstanceEntity, {}, { disableIdentityMap: true });
    for (const row of rows) this.#instances.set(row.name, fromRow(row));
  }

  get(name: string): LlamaInstance | undefined {
    return this.#instances.get(name);
  }

  /** By name. */
  list(): LlamaInstance[] {
    return [...this.#instances.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  view(name: string): LlamaInstanceView | undefined {
    const state = this.#instances.get(name);
    return state ? this.#view(state) : undefined;
  }

  views(): LlamaInstanceView[] {
    return this.list().map((s) => this.#view(s));
  }

  /** Inserts a new instance (the caller checked the name is free). */
  async insert(state: LlamaInstance): Promise<LlamaInstance> {
    await this.#db.em().insert(LlamaInstanceEntity, toRow(state));
    this.#instances.set(state.name, state);
    this.#changed(state.name);
    return state;
  }

  /** Applies a change to an instance and writes it through; publishes it. */
  async patch(name: string, change: Partial<LlamaInstance>): Promise<LlamaInstance> {
    const current = this.#instances.get(name);
    if (!current) throw new Error(`llama instance '${name}' is not tracked`);
    const next = { ...current, ...change, updatedAt: new Date() };
    await this.#db.em().nativeUpdate(LlamaInstanceEntity, { name }, toRow(next));
    this.#instances.set(name, next);
    this.#changed(name);
    return next;
  }

  /** Moves an instance to `status`, stamping the matching time. */
  setStatus(name: string, status: LlamaInstanceStatus, change: Partial<LlamaInstance> = {}): Promise<LlamaInstance> {
    const now = new Date();
    const stamps: Partial<LlamaInstance> = status === 'running' ? { readyAt: now } : status === 'stopped' || status === 'failed' ? { stoppedAt: now } : {};
    return this.patch(name, { ...stamps, ...change, status });
  }

  async delete(name: string): Promise<void> {
    await this.#db.em().nativeDelete(LlamaInstanceEntity, { name });
    const state = this.#instances.get(name);
    this.#instances.delete(name);
    this.#runtime.delete(name);
    if (state) this.#onChange?.({ ...state, status: 'stopped' });
  }

  health(name: string): LlamaHealth {
    return this.#rt(name).health;
  }

  /** Records a probe; publishes when the state or the failure count changed. */
  setHealth(name: string, health: LlamaHealth): void {
    const rt = this.#rt(name);
    const previous = rt.health;
    rt.health = health;
    if (previous.state !== health.state || previous.failureCount !== health.failureCount) this.#changed(name);
  }

  /** Forgets the health and stats of an ended run. */
  resetRuntime(name: string): void {
    const rt = this.#rt(name);
    rt.health = unknownHealth();
    rt.stats = null;
    rt.sample = undefined;
  }

  setStats(name: string, stats: LlamaStats, sample: ProcSample | undefined): void {
    const rt = this.#rt(name);
    rt.stats = stats;
    rt.sample = sample;
  }

  lastSample(name: string): ProcSample | undefined {
    return this.#rt(name).sample;
  }

  inFlight(name: string): number {
    return this.#rt(name).inFlight;
  }

  /** Counts a proxied request; the returned function ends it (and stamps `lastRequestAt`). */
  beginRequest(name: string): () => void {
    const rt = this.#rt(name);
    rt.inFlight++;
    this.#touch(name);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      rt.inFlight = Math.max(0, rt.inFlight - 1);
      this.#touch(name);
    };
  }

  /** Stamps `lastRequestAt` in memory; {@link flushLastRequests} writes it. */
  touch(name: string): void {
    this.#touch(name);
  }

  readonly #touched = new Set<string>();

  #touch(name: string): void {
    const state = this.#instances.get(name);
    if (!state) return;
    state.lastRequestAt = new Date();
    this.#touched.add(name);
  }

  /** Writes the request stamps taken since the last flush (idle stop must survive a daemon restart). */
  async flushLastRequests(): Promise<void> {
    for (const name of [...this.#touched]) {
      this.#touched.delete(name);
      const state = this.#instances.get(name);
      if (state?.lastRequestAt) await this.#db.em().nativeUpdate(LlamaInstanceEntity, { name }, { lastRequestAt: state.lastRequestAt });
    }
  }

  #rt(name: string): Runtime {
    let rt = this.#runtime.get(name);
    if (!rt) {
      rt = { health: unknownHealth(), stats: null, sample: undefined, inFlight: 0 };
      this.#runtime.set(name, rt);
    }
    return rt;
  }

  #view(state: LlamaInstance): LlamaInstanceView {
    const rt = this.#rt(state.name);
    return {
      ...state,
      options: { ...state.options, aliases: [...state.options.aliases], extraArgs: [...state.options.extraArgs], gpuIndices: [...state.options.gpuIndices] },
      gpus: [...state.gpus],
      health: { ...rt.health },
      stats: rt.stats ? { ...rt.stats } : null,
      inFlight: rt.inFlight,
    };
  }

  #changed(name: string): void {
    const view = this.view(name);
    if (view) this.#pubsub.publish(instancesTopic, view);
    const state = this.#instances.get(name);
    if (state) this.#onChange?.(state);
    this.changes.emit('change', name);
  }
}

function fromRow(row: LlamaInstanceRow): LlamaInstance {
  const num = (v: unknown) => (v == null ? null : Number(v));
  return {
    name: row.name,
    status: row.status as LlamaInstanceStatus,
    message: row.message ?? null,
    modelPath: row.modelPath,
    modelSizeBytes: Number(row.modelInfo.sizeBytes),
    vramEstimateMiB: Number(row.vramEstimateMib),
    host: row.host,
    port: Number(row.port),
    options: row.options,
    desired: row.desired === 'running' ? 'running' : 'stopped',
    jobId: row.jobId ?? null,
    pid: num(row.pid),
    pidStartTicks: row.pidStartTicks ?? null,
    gpus: row.gpus ?? [],
    leaseId: row.leaseId ?? null,
    restartCount: Number(row.restartCount),
    nextRestartAt: row.nextRestartAt ?? null,
    exitCode: num(row.exitCode),
    lastRequestAt: row.lastRequestAt ?? null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt ?? null,
    readyAt: row.readyAt ?? null,
    stoppedAt: row.stoppedAt ?? null,
    modelBlockCount: row.modelInfo.blockCount ?? null,
  };
}

function toRow(state: LlamaInstance): LlamaInstanceRow {
  return {
    name: state.name,
    desired: state.desired,
    status: state.status,
    message: state.message,
    modelPath: state.modelPath,
    modelInfo: { sizeBytes: state.modelSizeBytes, blockCount: state.modelBlockCount },
    vramEstimateMib: state.vramEstimateMiB,
    host: state.host,
    port: state.port,
    options: state.options,
    jobId: state.jobId,
    pid: state.pid,
    pidStartTicks: state.pidStartTicks,
    gpus: state.gpus,
    leaseId: state.leaseId,
    restartCount: state.restartCount,
    nextRestartAt: state.nextRestartAt,
    exitCode: state.exitCode,
    lastRequestAt: state.lastRequestAt,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    startedAt: state.startedAt,
    readyAt: state.readyAt,
    stoppedAt: state.stoppedAt,
  } as LlamaInstanceRow;
}
