import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { ConflictError, InputError, TimeoutError, UnavailableError } from '../errors.ts';
import type { GpuInfo, GpuInventorySource, GpuLease, GpuLeaseHolder, GpuLeaseRequest, GpuService } from '../services/gpu-service.ts';
import type { Logger } from '../services/logger-service.ts';
import { GpuLeaseEntity, type GpuLeaseRow } from './gpu-lease-entity.ts';

interface Waiter {
  request: GpuLeaseRequest;
  resolve(lease: GpuLease): void;
  reject(error: unknown): void;
}

export interface GpuManagerOptions {
  fork(): EntityManager;
  logger: Logger;
  /** How often waiting requests re-check the inventory. @default 1000 */
  recheckMs?: number;
}

/**
 * The core GPU service: hands out leases on the GPUs the inventory source reports, queues
 * requests FIFO (an earlier waiter keeps its GPUs from later ones), and persists leases so a
 * restarted daemon can release those whose holders ended while it was down.
 */
export class GpuManager implements GpuService {
  readonly #options: GpuManagerOptions;
  readonly #leases = new Map<string, GpuLease>();
  readonly #waiters: Waiter[] = [];
  #source: GpuInventorySource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #pumping: Promise<void> = Promise.resolve();

  constructor(options: GpuManagerOptions) {
    this.#options = options;
  }

  setInventorySource(source: GpuInventorySource): void {
    if (this.#source && this.#source.id !== source.id) throw new Error(`GPU inventory source '${this.#source.id}' is already registered`);
    this.#source = source;
  }

  list(): GpuInfo[] {
    return this.#source?.current() ?? [];
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
    return gpu.memoryUsedMiB < (this.#source?.freeMemoryMiB ?? 0);
  }

  leaseFor(index: number): GpuLease | undefined {
    for (const lease of this.#leases.values()) if (lease.indices.includes(index)) return lease;
    return undefined;
  }

  leases(): GpuLease[] {
    return [...this.#leases.values()];
  }

  async acquire(request: GpuLeaseRequest): Promise<GpuLease> {
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
    const granted = this.#waiters.length === 0 ? await this.#tryGrant(request, inventory, new Set()) : undefined;
    if (granted) return granted;
    if (request.wait === false) throw new ConflictError(`The requested GPU(s) are busy`, { details: { holder: request.holder } });

    return new Promise<GpuLease>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject };
      this.#waiters.push(waiter);
      const drop = (error: unknown) => {
        const at = this.#waiters.indexOf(waiter);
        if (at === -1) return;
        this.#waiters.splice(at, 1);
        reject(error);
        void this.#pump();
      };
      request.signal?.addEventListener('abort', () => drop(request.signal!.reason ?? new Error('aborted')), { once: true });
      if (request.timeoutMs !== undefined) setTimeout(() => drop(new TimeoutError(`No GPU became free within ${request.timeoutMs} ms`)), request.timeoutMs).unref();
      this.#ensureTimer();
    });
  }

  async release(leaseId: string): Promise<void> {
    const lease = this.#leases.get(leaseId);
    if (!lease) return;
    this.#leases.delete(leaseId);
    await this.#options.fork().nativeDelete(GpuLeaseEntity, { id: leaseId });
    this.#options.logger.debug('GPU lease released', { lease: leaseId, indices: lease.indices, holder: lease.holder });
    await this.#pump();
  }

  async releaseHolder(holder: GpuLeaseHolder): Promise<void> {
    for (const lease of [...this.#leases.values()]) {
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
    if (!this.#source) throw new UnavailableError('No GPU inventory: the nvidia-smi plugin is not enabled');
    const current = this.#source.current();
    if (current) return current;
    try {
      return await this.#source.refresh();
    } catch (error) {
      throw new UnavailableError(`No GPU inventory: ${(error as Error).message}`, { cause: error });
    }
  }

  async #tryGrant(request: GpuLeaseRequest, inventory: GpuInfo[], reserved: Set<number>): Promise<GpuLease | undefined> {
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
    const lease = makeLease(randomUUID(), chosen.map((g) => g.index), chosen.map((g) => g.uuid), request.holder, new Date());
    this.#leases.set(lease.id, lease);
    await this.#options.fork().insert(GpuLeaseEntity, {
      id: lease.id,
      indices: lease.indices,
      uuids: lease.uuids,
      holderKind: lease.holder.kind,
      holderId: lease.holder.id,
      createdAt: lease.createdAt,
    });
    this.#options.logger.debug('GPU lease granted', { lease: lease.id, indices: lease.indices, holder: lease.holder });
    return lease;
  }

  /** Grants waiting requests in order; a waiter that cannot be served keeps its GPUs from later ones. */
  #pump(): Promise<void> {
    // One pass at a time, or two passes could grant the same waiter twice.
    this.#pumping = this.#pumping.then(() => this.#pumpOnce()).catch((error) => this.#options.logger.error('GPU lease queue failed', { error }));
    return this.#pumping;
  }

  async #pumpOnce(): Promise<void> {
    if (this.#waiters.length === 0 || !this.#source) return;
    const inventory = this.#source.current() ?? [];
    const reserved = new Set<number>();
    for (const waiter of [...this.#waiters]) {
      const lease = await this.#tryGrant(waiter.request, inventory, reserved);
      if (lease) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(lease);
        continue;
      }
      if (!waiter.request.indices) break;
      for (const index of waiter.request.indices) reserved.add(index);
    }
    if (this.#waiters.length === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #ensureTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#pump(), this.#options.recheckMs ?? 1000);
    this.#timer.unref();
  }
}

function makeLease(id: string, indices: number[], uuids: string[], holder: GpuLeaseHolder, createdAt: Date): GpuLease {
  return {
    id,
    indices,
    uuids,
    holder,
    createdAt,
    cudaVisibleDevices: indices.join(','),
    podmanDeviceArgs: indices.flatMap((i) => ['--device', `nvidia.com/gpu=${i}`]),
  };
}

function toLease(row: GpuLeaseRow): GpuLease {
  return makeLease(row.id, row.indices, row.uuids, { kind: row.holderKind as GpuLeaseHolder['kind'], id: row.holderId }, row.createdAt);
}
