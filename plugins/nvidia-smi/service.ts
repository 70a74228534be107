import { UnavailableError, type GpuInfo, type GpuInventorySource, type GpuLease, type PluginServices } from '../../core/plugin-api.ts';
import type { NvidiaSmiConfig } from './config.ts';
import { GpuHistory, type GpuSample } from './history.ts';
import { LoopSampler } from './loop-sampler.ts';
import { createNvidiaSmiRunner } from './nvidia-smi.ts';

/** Every GPU at one sample: the payload of `Subscription.gpuStats`. */
export interface GpuStats {
  sampledAt: Date;
  gpus: GpuInfo[];
}

/** What the plugin's resolvers use (the value `init` returns). */
export interface NvidiaSmiApi {
  /** The latest sample; `UNAVAILABLE` with nvidia-smi's reason while it fails. */
  gpus(): GpuInfo[];
  /** The newest `last` samples of a GPU, oldest first. */
  history(uuid: string, last: number): GpuSample[];
  /** The latest sample (if any), then every new one until the consumer returns. */
  watch(): AsyncGenerator<GpuStats>;
  isFree(gpu: GpuInfo): boolean;
  leaseFor(index: number): GpuLease | undefined;
  leases(): GpuLease[];
}

const samplesTopic = 'samples';

export interface GpuMonitorOptions {
  freeMemoryMiB: number;
  historySize: number;
  /** One full sample, taken now. */
  sample(): Promise<GpuInfo[]>;
  onSample(stats: GpuStats): void;
  /** Called when sampling starts failing (with the reason) or works again (undefined). */
  onHealthChange(reason: string | undefined): void;
}

/**
 * The gpu service's inventory source: the latest sample, whether nvidia-smi currently fails,
 * and a short history per GPU. Samplers feed it through `record` and `fail`.
 */
export class GpuMonitor implements GpuInventorySource {
  readonly id = 'nvidia-smi';
  readonly freeMemoryMiB: number;
  readonly #o: GpuMonitorOptions;
  readonly #history: GpuHistory;
  #latest: GpuStats | undefined;
  #failure: string | undefined;

  constructor(options: GpuMonitorOptions) {
    this.#o = options;
    this.freeMemoryMiB = options.freeMemoryMiB;
    this.#history = new GpuHistory(options.historySize);
  }

  current(): GpuInfo[] | undefined {
    return this.#latest?.gpus;
  }

  get latest(): GpuStats | undefined {
    return this.#latest;
  }

  /** Why sampling fails right now, or undefined while it works. */
  get failure(): string | undefined {
    return this.#failure;
  }

  async refresh(): Promise<GpuInfo[]> {
    try {
      const gpus = await this.#o.sample();
      this.record(gpus);
      return gpus;
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  record(gpus: GpuInfo[]): void {
    this.#latest = { sampledAt: gpus[0]?.sampledAt ?? new Date(), gpus };
    this.#history.add(gpus);
    if (this.#failure !== undefined) {
      this.#failure = undefined;
      this.#o.onHealthChange(undefined);
    }
    this.#o.onSample(this.#latest);
  }

  /** Forgets the last sample: GPUs nvidia-smi cannot see must not look free. */
  fail(reason: string): void {
    this.#latest = undefined;
    if (this.#failure === reason) return;
    this.#failure = reason;
    this.#o.onHealthChange(reason);
  }

  gpus(): GpuInfo[] {
    if (this.#latest) return this.#latest.gpus;
    throw new UnavailableError(this.#failure ?? 'no GPU sample yet');
  }

  history(uuid: string, last: number): GpuSample[] {
    return this.#history.get(uuid, last);
  }
}

/**
 * Starts sampling (first sample before init returns, then by `mode`), registers the inventory
 * source with the gpu service, and returns the resolvers' API.
 */
export async function startNvidiaSmi(services: PluginServices<NvidiaSmiConfig>): Promise<NvidiaSmiApi> {
  const { config, processes, scheduler, pubsub, status, logger, lifecycle, gpus, gpuInventory } = services;
  const runner = createNvidiaSmiRunner({ bin: config.bin, processes, timeoutMs: config.timeoutMs });
  const monitor = new GpuMonitor({
    freeMemoryMiB: config.freeMemoryMiB,
    historySize: config.historySize,
    sample: () => runner.sample(),
    onSample: (stats) => pubsub.publish(samplesTopic, stats),
    onHealthChange(reason) {
      if (reason === undefined) {
        logger.info('nvidia-smi answers again');
        status.setReady();
      } else {
        logger.warn('nvidia-smi fails; GPUs are unavailable', { reason });
        status.setDegraded(reason);
      }
    },
  });
  gpuInventory.provide(monitor);
  // The failure (if any) is recorded by the monitor: the daemon runs on without GPUs.
  const first = await monitor.refresh().catch(() => undefined);

  if (config.mode === 'loop') {
    const sampler = new LoopSampler({
      bin: config.bin,
      intervalMs: config.intervalMs,
      staleMs: Math.max(config.timeoutMs, 3 * config.intervalMs),
      processes,
      logger,
      onSample: (sample) => monitor.record(sample),
      onFailure: (reason) => monitor.fail(reason),
    });
    // After a good first sample the loops start when their first tick is due (not during the
    // other plugins' inits); after a failed one at once, to recover.
    sampler.start(first, first ? config.intervalMs : 0);
    lifecycle.onShutdown(() => sampler.stop());
  } else {
    scheduler.schedule({ id: 'sample', everyMs: config.intervalMs, timeoutMs: config.timeoutMs + 1000, run: () => monitor.refresh().then(() => undefined, () => undefined) });
  }

  return {
    gpus: () => monitor.gpus(),
    history: (uuid, last) => monitor.history(uuid, last),
    async *watch() {
      const updates = pubsub.subscribe<GpuStats>(samplesTopic);
      try {
        if (monitor.latest) yield monitor.latest;
        for await (const stats of updates) yield stats;
      } finally {
        await updates.return?.();
      }
    },
    isFree: (gpu) => gpus.isFree(gpu),
    leaseFor: (index) => gpus.leaseFor(index),
    leases: () => gpus.leases(),
  };
}
