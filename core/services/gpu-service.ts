/** One compute process on a GPU, as the inventory source reports it. */
export interface GpuProcess {
  pid: number;
  /** MiB, or null when the tool reports `[N/A]`. */
  usedMemoryMiB: number | null;
  processName: string | null;
}

/** One GPU (or MIG-enabled parent) at the time of the last sample. Unknown values are null. */
export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  memoryFreeMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerDrawW: number | null;
  powerLimitW: number | null;
  /** `Enabled`, `Disabled`, or null when the GPU has no MIG support. */
  migMode: string | null;
  processes: GpuProcess[];
  sampledAt: Date;
}

/**
 * Where GPU facts come from (the nvidia-smi plugin registers one). The gpu service reads the
 * latest sample when it decides whether a GPU is free.
 */
export interface GpuInventorySource {
  readonly id: string;
  /** The latest sample, or undefined before the first one (or when the tool fails). */
  current(): GpuInfo[] | undefined;
  /** Samples now. */
  refresh(): Promise<GpuInfo[]>;
  /** The most used memory a GPU may show and still count as free. */
  readonly freeMemoryMiB: number;
}

/** Who holds a lease. A lease ends with its holder (job end, server stop). */
export interface GpuLeaseHolder {
  kind: 'job' | 'server';
  id: string;
}

export interface GpuLeaseRequest {
  /** How many GPUs, any of the free ones. Ignored when `indices` is given. @default 1 */
  count?: number;
  /** Exactly these GPU indices. */
  indices?: number[];
  holder: GpuLeaseHolder;
  /** Wait in the FIFO queue until the GPUs are free (true), or fail at once (false). @default true */
  wait?: boolean;
  /** Give up waiting after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface GpuLease {
  id: string;
  indices: number[];
  uuids: string[];
  holder: GpuLeaseHolder;
  createdAt: Date;
  /** `CUDA_VISIBLE_DEVICES` value for a process: `0,2`. */
  cudaVisibleDevices: string;
  /** `['--device', 'nvidia.com/gpu=0', …]` for podman. */
  podmanDeviceArgs: string[];
}

/**
 * GPU inventory and leases. A GPU is free when no lease holds it, no compute process runs on
 * it and its used memory is under the source's `freeMemoryMiB`.
 */
export interface GpuService {
  /** Registers the inventory source (one per daemon). */
  setInventorySource(source: GpuInventorySource): void;
  /** The latest inventory; empty when there is no source or no sample yet. */
  list(): GpuInfo[];
  /** Whether a GPU counts as free right now. */
  isFree(gpu: GpuInfo): boolean;
  /** The lease holding a GPU index, if any. */
  leaseFor(index: number): GpuLease | undefined;
  acquire(request: GpuLeaseRequest): Promise<GpuLease>;
  release(leaseId: string): Promise<void>;
  releaseHolder(holder: GpuLeaseHolder): Promise<void>;
  leases(): GpuLease[];
}
