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
  /**
   * Wait in the queue until the GPUs are free (true), or fail at once (false). Waiting requests
   * are served in arrival order; one not served yet keeps the free GPUs it can use from later ones.
   * @default true
   */
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
  /**
   * Who may end it: the id of the plugin that acquired it, or `core` for a job's lease (the job
   * runner acquires and releases those) and for leases stored before owners were recorded.
   */
  owner: string;
  createdAt: Date;
  /** `CUDA_VISIBLE_DEVICES` value for a process: `0,2`. */
  cudaVisibleDevices: string;
  /** `['--device', 'nvidia.com/gpu=0', …]` for podman. */
  podmanDeviceArgs: string[];
}

/**
 * GPU inventory and leases, scoped to one plugin. Everything can be read; a plugin ends only the
 * leases it acquired. Ending any lease is a daemon-wide power (see {@link GpuAdmin}).
 */
export interface GpuService {
  /** The latest inventory; empty when there is no source or no sample yet. */
  list(): GpuInfo[];
  /**
   * Whether a GPU counts as free right now: no lease holds it, no compute process runs on it
   * and its used memory is under the source's `freeMemoryMiB`.
   */
  isFree(gpu: GpuInfo): boolean;
  /** The lease holding a GPU index, if any (whoever owns it). */
  leaseFor(index: number): GpuLease | undefined;
  /** Leases this plugin owns when it asks for `own` ones; else every lease of the daemon (to show). */
  leases(filter?: { own?: boolean }): GpuLease[];
  /** A lease owned by this plugin, recorded with its {@link GpuLease.owner}. */
  acquire(request: GpuLeaseRequest): Promise<GpuLease>;
  /**
   * Ends a lease this plugin owns. An unknown id does nothing; a lease owned by another plugin
   * or by core (a job's) is `FORBIDDEN` and stays.
   */
  release(leaseId: string): Promise<void>;
  /** Ends this plugin's leases held by `holder`; leases other owners gave the same holder stay. */
  releaseHolder(holder: GpuLeaseHolder): Promise<void>;
}

/**
 * A daemon-wide power: provides the one GPU inventory of the daemon (the nvidia-smi plugin
 * does). The source is withdrawn when the providing plugin stops; while one plugin provides it,
 * another one's `provide` is a `CONFLICT`.
 */
export interface GpuInventoryService {
  provide(source: GpuInventorySource): void;
}

/**
 * Daemon-wide GPU powers, never handed to a plugin's init: resolvers reach them through
 * `ctx.core.gpuAdmin` (see `CorePowers`), acting for the caller, who must hold the `admin` scope.
 */
export interface GpuAdmin {
  /**
   * Ends any lease, whoever owns it (its holder keeps running), and returns it. `NOT_FOUND`
   * for an unknown id; `FORBIDDEN` when the caller lacks the `admin` scope.
   */
  releaseLease(leaseId: string): Promise<GpuLease>;
}
