import { describeError } from '../errors.ts';
import { coreOwner, type GpuManager, type GpuWaitState } from '../gpus/gpu-manager.ts';
import type { GpuLeaseHolder } from '../services/gpu-service.ts';
import type { Logger } from '../services/logger-service.ts';
import type { JobRow } from './job-entity.ts';
import type { JobPatch, JobStore } from './job-store.ts';

export interface JobQueueOptions {
  store: JobStore;
  gpus: Pick<GpuManager, 'acquire' | 'leases'>;
  logger: Logger;
  maxConcurrent: number;
  onShutdown: 'keep' | 'stop';
  /** How long a job waiting for GPUs lets later jobs that fit take GPUs it could use (`jobs.backfillWindowMs`). */
  backfillWindowMs: number;
  /** How long a job may stay queued before it fails (`jobs.maxWaitMs`); 0 for no limit. */
  maxWaitMs: number;
  /** Starts a job that got its turn; `counted` when it holds a `jobs.maxConcurrent` slot. */
  launch(id: string, counted: boolean): void;
  /** Ends a queued job that will never start (its GPU wait failed, timed out or was cancelled). */
  settle(id: string, outcome: JobPatch): Promise<unknown>;
  /** What a queued job waits for changed; null once it waits no more. */
  waiting(id: string, reason: string | null): void;
}

interface SlotEntry {
  id: string;
  seq: bigint;
}

/**
 * Admission with backfill. A job that asks for GPUs waits for a lease first, outside the
 * concurrency queue (so it holds no slot), in the GPU service's queue: there it lets later jobs
 * that fit take GPUs it could use for `jobs.backfillWindowMs` after it was submitted, and from
 * then on keeps the free GPUs it can use for itself, so it cannot be starved. Then every job
 * queues for a `jobs.maxConcurrent` slot in submission order: a job that waited for GPUs goes
 * ahead of later jobs that did not. Long-running service jobs take no slot. A job queued longer
 * than `jobs.maxWaitMs` fails. See docs/jobs.md, "Scheduling".
 */
export class JobQueue {
  readonly #o: JobQueueOptions;
  /** Jobs waiting for a slot, in submission order. */
  readonly #slots: SlotEntry[] = [];
  readonly #gpuWaits = new Map<string, AbortController>();
  readonly #gpuSettling = new Set<Promise<void>>();
  readonly #reasons = new Map<string, string>();
  readonly #deadlines = new Map<string, NodeJS.Timeout>();
  #running = 0;
  #stopping = false;

  constructor(options: JobQueueOptions) {
    this.#o = options;
  }

  enqueue(row: JobRow): void {
    this.#armDeadline(row);
    // A lease granted before a restart still belongs to the job: reuse it.
    const held = this.#o.gpus.leases().some((lease) => lease.holder.kind === 'job' && lease.holder.id === row.id);
    if (row.gpuRequest && !held) {
      this.#waitForGpus(row);
      return;
    }
    this.#admit(row);
  }

  /** What a queued job waits for (GPUs, a slot), or undefined when it is not waiting here. */
  waitingFor(id: string): string | undefined {
    return this.#reasons.get(id);
  }

  /** Takes a job out of the queue (and out of its GPU wait); it will not be launched. */
  remove(id: string): void {
    const at = this.#slots.findIndex((entry) => entry.id === id);
    if (at !== -1) this.#slots.splice(at, 1);
    this.#gpuWaits.get(id)?.abort(new Error('cancelled'));
    this.#done(id);
  }

  /** A job re-adopted after a restart takes its slot again. */
  occupy(): void {
    this.#running++;
  }

  /** A counted job ended: its slot goes to the next in line. */
  release(): void {
    this.#running = Math.max(0, this.#running - 1);
    this.pump();
  }

  pump(): void {
    while (!this.#stopping && this.#running < this.#o.maxConcurrent && this.#slots.length > 0) {
      const { id } = this.#slots.shift()!;
      this.#running++;
      this.#done(id);
      this.#o.launch(id, true);
    }
  }

  /** Launches nothing more; GPU waits end (the jobs stay queued for the next start). */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#deadlines.values()) clearTimeout(timer);
    this.#deadlines.clear();
    for (const controller of this.#gpuWaits.values()) controller.abort(new Error('backplane stopping'));
    await Promise.allSettled([...this.#gpuSettling]);
  }

  #admit(row: JobRow): void {
    if (this.#o.maxWaitMs > 0 && Date.now() >= row.createdAt.getTime() + this.#o.maxWaitMs) {
      void this.#expire(row.id);
      return;
    }
    if (row.longRunning) {
      this.#done(row.id);
      this.#o.launch(row.id, false);
      return;
    }
    const entry = { id: row.id, seq: BigInt(row.seq) };
    // Submission order: a job that waited for GPUs is ahead of later jobs that did not.
    let at = this.#slots.length;
    while (at > 0 && this.#slots[at - 1].seq > entry.seq) at--;
    this.#slots.splice(at, 0, entry);
    this.pump();
    if (this.#slots.includes(entry)) this.#setReason(row.id, `waiting for a job slot (jobs.maxConcurrent=${this.#o.maxConcurrent})`);
  }

  #waitForGpus(row: JobRow): void {
    const controller = new AbortController();
    this.#gpuWaits.set(row.id, controller);
    const request = row.gpuRequest!;
    const waiting: Promise<void> = this.#o.gpus
      .acquire({ ...request, holder: { kind: 'job', id: row.id }, wait: true, signal: controller.signal }, coreOwner, {
        reserveFrom: row.createdAt.getTime() + this.#o.backfillWindowMs,
        onWait: (state) => {
          if (!controller.signal.aborted) this.#setReason(row.id, describeGpuWait(request, state));
        },
      })
      .then(async (lease) => {
        this.#gpuWaits.delete(row.id);
        await this.#o.store.update(row.id, { gpus: lease.indices });
        if (this.#stopping) return;
        this.#admit(row);
      })
      .catch(async (error) => {
        this.#gpuWaits.delete(row.id);
        // Aborted by cancel or by the wait limit: those settle the job. Aborted by a stop that
        // keeps jobs: the job stays queued for the next start.
        if (controller.signal.aborted && (!this.#stopping || this.#o.onShutdown === 'keep')) return;
        this.#done(row.id);
        const current = await this.#o.store.row(row.id);
        if (current && current.status === 'queued') {
          await this.#o.settle(row.id, controller.signal.aborted ? { status: 'cancelled', failureReason: null } : { status: 'failed', failureReason: `no GPU lease: ${describeError(error)}` });
        }
      });
    this.#gpuSettling.add(waiting);
    void waiting.finally(() => this.#gpuSettling.delete(waiting));
  }

  #armDeadline(row: JobRow): void {
    if (this.#o.maxWaitMs <= 0 || this.#deadlines.has(row.id)) return;
    const left = row.createdAt.getTime() + this.#o.maxWaitMs - Date.now();
    const timer = setTimeout(() => {
      this.#deadlines.delete(row.id);
      // Between its GPU lease and its slot queue, #admit sees the deadline itself.
      if (this.#gpuWaits.has(row.id) || this.#slots.some((entry) => entry.id === row.id)) void this.#expire(row.id);
    }, Math.max(0, left));
    timer.unref();
    this.#deadlines.set(row.id, timer);
  }

  /** The wait limit passed: out of the queue, its lease request withdrawn, settled as failed. */
  async #expire(id: string): Promise<void> {
    if (this.#stopping) return;
    const reason = this.#reasons.get(id);
    this.remove(id);
    try {
      const current = await this.#o.store.row(id);
      if (!current || current.status !== 'queued' || current.launchToken) return;
      const failureReason = `waited longer than jobs.maxWaitMs (${this.#o.maxWaitMs} ms)${reason ? `, ${reason}` : ''}`;
      await this.#o.settle(id, { status: 'failed', failureReason });
    } catch (error) {
      this.#o.logger.error('failing a job past its wait limit failed', { job: id, error });
    }
  }

  #setReason(id: string, reason: string): void {
    if (this.#reasons.get(id) === reason) return;
    this.#reasons.set(id, reason);
    this.#o.waiting(id, reason);
  }

  /** The job waits here no more: launched, removed, or settled. */
  #done(id: string): void {
    const timer = this.#deadlines.get(id);
    if (timer) clearTimeout(timer);
    this.#deadlines.delete(id);
    if (this.#reasons.delete(id)) this.#o.waiting(id, null);
  }
}

function holderName(holder: GpuLeaseHolder): string {
  return holder.kind === 'job' ? holder.id : `${holder.kind} ${holder.id}`;
}

/** `waiting for 4 GPUs (2 free, held by t-…, ml-…)`: one line, stable while nothing changes. */
export function describeGpuWait(request: { count?: number; indices?: number[] }, state: GpuWaitState): string {
  const plural = state.wanted === 1 ? '' : 's';
  const what = request.indices ? `GPU${plural} ${request.indices.join(', ')}` : `${state.wanted} GPU${plural}`;
  let detail = `${state.free} free${state.reserving && state.free > 0 ? ' and kept for this job' : ''}`;
  if (state.heldBy.length > 0) detail += `, held by ${state.heldBy.map(holderName).join(', ')}`;
  if (state.reservedFor.length > 0) detail += `; kept for ${state.reservedFor.map(holderName).join(', ')}, queued earlier`;
  if (state.busy > 0) detail += `; ${state.busy} busy on the device outside backplane`;
  return `waiting for ${what} (${detail})`;
}
