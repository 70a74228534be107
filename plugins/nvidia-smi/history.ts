import type { GpuInfo } from '../../core/plugin-api.ts';

/** One GPU's reading at one sample, for charts. */
export interface GpuSample {
  sampledAt: Date;
  memoryUsedMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerDrawW: number | null;
  processCount: number;
}

/**
 * The last `size` samples of each GPU, in memory only, keyed by UUID (indices may change across
 * reboots; UUIDs do not). A GPU missing from a sample has left the host and loses its history.
 */
export class GpuHistory {
  readonly #size: number;
  readonly #byUuid = new Map<string, GpuSample[]>();

  constructor(size: number) {
    this.#size = size;
  }

  add(gpus: readonly GpuInfo[]): void {
    const present = new Set(gpus.map((g) => g.uuid));
    for (const uuid of this.#byUuid.keys()) if (!present.has(uuid)) this.#byUuid.delete(uuid);
    for (const gpu of gpus) {
      let samples = this.#byUuid.get(gpu.uuid);
      if (!samples) {
        samples = [];
        this.#byUuid.set(gpu.uuid, samples);
      }
      samples.push({
        sampledAt: gpu.sampledAt,
        memoryUsedMiB: gpu.memoryUsedMiB,
        utilizationPercent: gpu.utilizationPercent,
        temperatureC: gpu.temperatureC,
        powerDrawW: gpu.powerDrawW,
        processCount: gpu.processes.length,
      });
      // Trim in batches so a full buffer is not shifted on every sample.
      if (samples.length >= this.#size * 2) samples.splice(0, samples.length - this.#size);
    }
  }

  /** The newest `last` samples of a GPU (at most `size`), oldest first. */
  get(uuid: string, last: number): GpuSample[] {
    const samples = this.#byUuid.get(uuid) ?? [];
    const count = Math.min(last, this.#size);
    return count > 0 ? samples.slice(-count) : [];
  }
}
