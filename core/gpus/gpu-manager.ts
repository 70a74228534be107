import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { ConflictError, InputError, TimeoutError, UnavailableError } from '../errors.ts';
import type { GpuInfo, GpuInventorySource, GpuLease, GpuLeaseHolder, GpuLeaseRequest } from '../services/gpu-service.ts';
import type { Logger } from '../services/logger-service.ts';
import { GpuLeaseEntity, type GpuLeaseRow } from './gpu-lease-entity.ts';

/** The owner of leases core acquires itself (a job's) and of leases stored before owners were. */
export const coreOwner = 'core';

interface Waiter {
  request: GpuLeaseRequest;
  owner: string;
  /** Epoch ms from which it keeps the free GPUs it can use from later requests. */
  reserveFrom: number;
  onWait?: (state: GpuWaitState) => void;
  resolve(lease: GpuLease): void;
  reject(error: unknown): void;
}

/** Core-only options of a lease request (the job runner's; plugins' requests reserve at once). */
export interface GpuWaitOptions {
  /**
   * Epoch ms from which the waiting request keeps the free GPUs it can use for itself. Until
   * then, later requests that fit may take them (backfill). @default now
   */
  reserveFrom?: number;
  /** Told, after every pass over the queue that did not serve the request, why it still waits. */
  onWait?(state: GpuWaitState): void;
}

/** Why a waiting request is not served yet. */
export interface GpuWaitState {
  /** How many GPUs it asks for. */
  wanted: number;
  /** GPUs it could use that are free and not kept for an earlier request. */
  free: number;
  /** Whether it keeps those free GPUs from later requests (its reservation has begun). */
  reserving: boolean;
  /** Holders of the leases on GPUs it could use. */
  heldBy: GpuLeaseHolder[];
  /** Earlier waiting requests that keep GPUs it could use. */
  reservedFor: GpuLeaseHolder[];
  /** GPUs it could use that no lease holds but that are busy on the device (a process, memory in use, MIG). */
  busy: number;
}

export interface GpuManagerOptions {
  fork(): EntityManager;
  logger: Logger;
  /** How often waiting requests re-check the inventory. @default 1000 */
  recheckMs?: number;
}

/**
 * The core GPU service, daemon-wide: hands out leases on the GPUs the inventory source
 * reports, queues requests in arrival order with reservations (a waiter keeps the free GPUs it
 * can use from later requests, from its `reserveFrom` on; later requests get only the rest), and
 * persists leases so a restarted daemon can release those whose holders ended while it was
 * down. Plugins get a scoped view of it (`forPluginGpus`); only core calls it directly.
 */
export class GpuManager {
  readonly #options: GpuManagerOptions;
  readonly #leases = new Map<string, GpuLease>();
  readonly #waiters: Waiter[] = [];
  #source: { source: GpuInventorySource; owner: string } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #pumping: Promise<void> = Promise.resolve();

  constructor(options: GpuManagerOptions) {
    this.#options = options;
  }

  /** Registers the daemon's one inventory source on behalf of `owner` (a plugin id). */
  setInventorySource(source: GpuInventorySource, owner: string): void {
    if (this.#source && this.#source.owner !== owner) {
      throw new ConflictError(`The GPU inventory is already provided by plugin '${this.#source.owner}'`, { details: { owner: this.#source.owner } });
    }
    this.#source = { source, owner };
  }

  /** Withdraws the inventory source `owner` provided, if it did (its plugin stopped). */
  withdrawInventorySource(owner: string): void {
    if (this.#source?.owner === owner) this.#source = undefined;
  }

  list(): GpuInfo[] {
    return this.#source?.source.current() ?? [];
  }

  isFree(gpu: GpuInfo): boolean {
    if (this.leaseFor(gpu.index)) return false;
    return this.#idle(gpu);
  }

  /** Idle on the device itself: no compute process, little memory used, not split into MIG. */
  #idle(gpu: GpuInfo): boolean {
    if (gpu.processes.length > 0) return false;
    if (gpu.migMode === 'Enabled') return false;
    if (gpu.memoryUsedMiB === null) return false;
    return gpu.memoryUsedMiB < (this.#source?.source.freeMemoryMiB ?? 0);
  }

  leaseFor(index: number): GpuLease | undefined {
    for (const lease of this.#leases.values()) if (lease.indices.includes(index)) return lease;
    return undefined;
  }

  leases(): GpuLease[] {
    return [...this.#leases.values()];
  }

  lease(leaseId: string): GpuLease | undefined {
    return this.#leases.get(leaseId);
  }

  /** A lease owned by `owner`: a plugin id, or {@link coreOwner} for the job runner. */
  async acquire(request: GpuLeaseRequest, owner: string = coreOwner, options: GpuWaitOptions = {}): Promise<GpuLease> {
    if (this.#closed) throw new UnavailableError('The GPU service is stopping');
    const inventory = await this.#inventory();
    const { indices, count = 1 } = request;
    if (indices !== undefined) {
      if (indices.length === 0 || new Set(indices).size !== indices.length) throw new InputError('GPU indices must be distinct and not empty');
      const unknown = indices.filter((i) => !inventory.some((g) => g.index === i));
      if (unknown.length > 0) throw new InputError(`No GPU with index ${unknown.join(', ')} (this host has ${inventory.length})`);
    } else if (!Number.isInteger(count) || count < 1 || count > inventory.length) {
      throw new InputError(`Cannot lease ${count} GPU(s): this host has ${inventory.length}`);
    }

    return new Promise<GpuLease>((resolve, reject) => {
      const waiter: Waiter = { request, owner, reserveFrom: options.reserveFrom ?? Date.now(), onWait: options.onWait, resolve, reject };
      this.#waiters.push(waiter);
      const drop = (error: unknown) => {
        const at = this.#waiters.indexOf(waiter);
        if (at === -1) return;
        this.#waiters.splice(at, 1);
        reject(error);
        void this.#pump();
      };
      if (request.signal?.aborted) return drop(request.signal.reason ?? new Error('aborted'));
      request.signal?.addEventListener('abort', () => drop(request.signal!.reason ?? new Error('aborted')), { once: true });
      if (request.timeoutMs !== undefined) setTimeout(() => drop(new TimeoutError(`No GPU became free within ${request.timeoutMs} ms`)), request.timeoutMs).unref();
      // A first pass, in queue order: it is served at once when it fits beside what earlier
      // waiters keep.
      void this.#pump().then(() => {
        if (!this.#waiters.includes(waiter)) return;
        if (request.wait === false) drop(new ConflictError(`The requested GPU(s) are busy`, { details: { holder: request.holder } }));
        else this.#ensureTimer();
      });
    });
  }

  /** Ends a lease whoever owns it; an unknown id does nothing. */
  async release(leaseId: string): Promise<void> {
    await this.endLease(leaseId);
  }

  /** Ends a lease whoever owns it; resolves to the lease, or undefined for an unknown id. */
  async endLease(leaseId: string): Promise<GpuLease | undefined> {
    const lease = this.#leases.get(leaseId);
    if (!lease) return undefined;
    this.#leases.delete(leaseId);
    await this.#options.fork().nativeDelete(GpuLeaseEntity, { id: leaseId });
    this.#options.logger.debug('GPU lease released', { lease: leaseId, indices: lease.indices, holder: lease.holder, owner: lease.owner });
    await this.#pump();
    return lease;
  }

  /** Ends the leases held by `holder`: every owner's, or only `owner`'s when given. */
  async releaseHolder(holder: GpuLeaseHolder, owner?: string): Promise<void> {
    for (const lease of [...this.#leases.values()]) {
      if (owner !== undefined && lease.owner !== owner) continue;
      if (lease.holder.kind === holder.kind && lease.holder.id === holder.id) await this.release(lease.id);
    }
  }

  /** Loads persisted leases; drops those whose holder `isAlive` says has ended. */
  async restore(isAlive: (holder: GpuLeaseHolder) => Promise<boolean>): Promise<void> {
    const rows = await this.#options.fork().find(GpuLeaseEntity, {}, { disableIdentityMap: true });
    for (const row of rows) {
      const lease = toLease(row);
      if (await isAlive(lease.holder)) this.#leases.set(lease.id, lease);
      else {
        await this.#options.fork().nativeDelete(GpuLeaseEntity, { id: row.id });
        this.#options.logger.info('released GPU lease of an ended holder', { lease: row.id, holder: lease.holder });
      }
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new UnavailableError('The GPU service stopped'));
  }

  async #inventory(): Promise<GpuInfo[]> {
    const source = this.#source?.source;
    if (!source) throw new UnavailableError('No GPU inventory: the nvidia-smi plugin is not enabled');
    const current = source.current();
    if (current) return current;
    try {
      return await source.refresh();
    } catch (error) {
      throw new UnavailableError(`No GPU inventory: ${(error as Error).message}`, { cause: error });
    }
  }

  async #tryGrant(request: GpuLeaseRequest, owner: string, inventory: GpuInfo[], reserved: { has(index: number): boolean }): Promise<GpuLease | undefined> {
    const available = inventory.filter((g) => !reserved.has(g.index) && this.isFree(g));
    let chosen: GpuInfo[];
    if (request.indices) {
      chosen = request.indices.map((i) => available.find((g) => g.index === i)).filter((g): g is GpuInfo => g !== undefined);
      if (chosen.length !== request.indices.length) return undefined;
    } else {
      // Prefer the highest indices, keeping GPU 0 (often the display GPU) free longest, as nvitop does.
      chosen = available.sort((a, b) => b.index - a.index).slice(0, request.count ?? 1);
      if (chosen.length !== (request.count ?? 1)) return undefined;
      chosen.sort((a, b) => a.index - b.index);
    }
    const lease = makeLease(randomUUID(), chosen.map((g) => g.index), chosen.map((g) => g.uuid), request.holder, owner, new Date());
    this.#leases.set(lease.id, lease);
    await this.#options.fork().insert(GpuLeaseEntity, {
      id: lease.id,
      indices: lease.indices,
      uuids: lease.uuids,
      holderKind: lease.holder.kind,
      holderId: lease.holder.id,
      owner,
      createdAt: lease.createdAt,
    });
    this.#options.logger.debug('GPU lease granted', { lease: lease.id, indices: lease.indices, holder: lease.holder, owner });
    return lease;
  }

  /**
   * Grants waiting requests in order. One that cannot be served keeps, once its reservation has
   * begun, the free GPUs it can use (up to its count), so later requests get only GPUs it cannot
   * use: GPUs released while it waits go to it first, and a stream of smaller requests cannot
   * starve it. Before its `reserveFrom`, later requests that fit may take them (backfill).
   */
  #pump(): Promise<void> {
    // One pass at a time, or two passes could grant the same waiter twice.
    this.#pumping = this.#pumping.then(() => this.#pumpOnce()).catch((error) => this.#options.logger.error('GPU lease queue failed', { error }));
    return this.#pumping;
  }

  async #pumpOnce(): Promise<void> {
    if (this.#waiters.length === 0 || !this.#source) return;
    const inventory = this.#source.source.current() ?? [];
    const now = Date.now();
    // GPU index → the earlier waiter that keeps it.
    const reserved = new Map<number, GpuLeaseHolder>();
    for (const waiter of [...this.#waiters]) {
      if (!this.#waiters.includes(waiter)) continue;
      let lease: GpuLease | undefined;
      try {
        lease = await this.#tryGrant(waiter.request, waiter.owner, inventory, reserved);
      } catch (error) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.reject(error);
        continue;
      }
      if (lease) {
        const at = this.#waiters.indexOf(waiter);
        // Given up (aborted, timed out) while the lease was being stored: nobody will hold it.
        if (at === -1) await this.#forget(lease);
        else {
          this.#waiters.splice(at, 1);
          waiter.resolve(lease);
        }
        continue;
      }
      const { indices, count = 1 } = waiter.request;
      const usable = indices ? inventory.filter((g) => indices.includes(g.index)) : inventory;
      const free = usable.filter((g) => !reserved.has(g.index) && this.isFree(g));
      const reserving = waiter.request.wait !== false && now >= waiter.reserveFrom;
      const reservedFor = unique(usable.flatMap((g) => (reserved.has(g.index) ? [reserved.get(g.index)!] : [])));
      if (reserving) {
        const kept = indices ? free : [...free].sort((a, b) => b.index - a.index).slice(0, count);
        for (const gpu of kept) reserved.set(gpu.index, waiter.request.holder);
      }
      waiter.onWait?.({
        wanted: indices ? indices.length : count,
        free: free.length,
        reserving,
        heldBy: unique(usable.flatMap((g) => this.leaseFor(g.index)?.holder ?? [])),
        reservedFor,
        busy: usable.filter((g) => !this.leaseFor(g.index) && !this.#idle(g)).length,
      });
    }
    if (this.#waiters.length === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Drops a lease nobody holds, without a pass over the queue (for use inside one). */
  async #forget(lease: GpuLease): Promise<void> {
    this.#leases.delete(lease.id);
    await this.#options.fork().nativeDelete(GpuLeaseEntity, { id: lease.id });
  }

  #ensureTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#pump(), this.#options.recheckMs ?? 1000);
    this.#timer.unref();
  }
}

function unique(holders: GpuLeaseHolder[]): GpuLeaseHolder[] {
  const seen = new Set<string>();
  return holders.filter((holder) => {
    const key = `${holder.kind}:${holder.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function makeLease(id: string, indices: number[], uuids: string[], holder: GpuLeaseHolder, owner: string, createdAt: Date): GpuLease {
  return {
    id,
    indices,
    uuids,
    holder,
    owner,
    createdAt,
    cudaVisibleDevices: indices.join(','),
    podmanDeviceArgs: indices.flatMap((i) => ['--device', `nvidia.com/gpu=${i}`]),
  };
}

function toLease(row: GpuLeaseRow): GpuLease {
  return makeLease(row.id, row.indices, row.uuids, { kind: row.holderKind as GpuLeaseHolder['kind'], id: row.holderId }, row.owner, row.createdAt);
}
