import { randomUUID } from 'node:crypto';
import type { DatabaseService, Logger } from '../../core/plugin-api.ts';
import { TinkerFutureEntity, type TinkerFutureRow } from './entities.ts';

export type FutureState = 'pending' | 'running' | 'complete' | 'failed';
export type FailureCategory = 'user' | 'server' | 'unknown';

/** One future (`request_id`) as the daemon keeps it. */
export interface FutureRecord {
  id: string;
  kind: string;
  modelId: string | null;
  samplerId: string | null;
  sessionId: string | null;
  seqId: number | null;
  payloadHash: string | null;
  state: FutureState;
  result: unknown;
  error: string | null;
  category: FailureCategory | null;
  createdAt: Date;
  completedAt: Date | null;
  deliveredAt: Date | null;
}

export interface NewFuture {
  kind: string;
  modelId?: string | null;
  samplerId?: string | null;
  sessionId?: string | null;
  seqId?: number | null;
  payloadHash?: string | null;
}

/**
 * Futures: an in-memory map (the source of truth while the daemon runs) whose waiters are woken
 * by events, never by polling, written behind to `tinker_futures` so that a restarted daemon still
 * answers for every request id: results it had, and a `server` failure for work it lost.
 */
export class FutureStore {
  readonly #futures = new Map<string, FutureRecord>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #db: DatabaseService;
  readonly #logger: Logger;
  /** Rows to write, by id: the latest state wins. */
  readonly #dirty = new Map<string, { record: FutureRecord }>();
  #flushing: Promise<void> | undefined;
  #released = false;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor({ db, logger }: { db: DatabaseService; logger: Logger }) {
    this.#db = db;
    this.#logger = logger;
  }

  /** Loads every stored future; those a previous daemon left unfinished fail (`server`): their work is gone. */
  async load(): Promise<number> {
    const rows = await this.#db.em().find(TinkerFutureEntity, {}, { disableIdentityMap: true });
    let lost = 0;
    for (const row of rows) {
      const record = fromRow(row);
      if (record.state === 'pending' || record.state === 'running') {
        record.state = 'failed';
        record.error = 'The daemon restarted before this request finished; its work was lost. Submit it again (after re-creating the model from a checkpoint).';
        record.category = 'server';
        record.completedAt = new Date();
        this.#dirty.set(record.id, { record });
        lost++;
      }
      this.#futures.set(record.id, record);
    }
    await this.flush();
    return lost;
  }

  create(input: NewFuture): FutureRecord {
    const record: FutureRecord = {
      id: `req-${randomUUID()}`,
      kind: input.kind,
      modelId: input.modelId ?? null,
      samplerId: input.samplerId ?? null,
      sessionId: input.sessionId ?? null,
      seqId: input.seqId ?? null,
      payloadHash: input.payloadHash ?? null,
      state: 'pending',
      result: null,
      error: null,
      category: null,
      createdAt: new Date(),
      completedAt: null,
      deliveredAt: null,
    };
    this.#futures.set(record.id, record);
    this.#write(record);
    return record;
  }

  get(id: string): FutureRecord | undefined {
    return this.#futures.get(id);
  }

  list(filter: { modelId?: string; state?: FutureState; limit?: number } = {}): FutureRecord[] {
    const out: FutureRecord[] = [];
    for (const record of [...this.#futures.values()].reverse()) {
      if (filter.modelId !== undefined && record.modelId !== filter.modelId) continue;
      if (filter.state !== undefined && record.state !== filter.state) continue;
      out.push(record);
      if (filter.limit !== undefined && out.length >= filter.limit) break;
    }
    return out;
  }

  /** Unsettled futures of a model (or sampler), oldest first. */
  unsettled(ownerId: string): FutureRecord[] {
    return [...this.#futures.values()].filter((r) => (r.modelId === ownerId || r.samplerId === ownerId) && (r.state === 'pending' || r.state === 'running'));
  }

  running(id: string): void {
    const record = this.#futures.get(id);
    if (!record || record.state !== 'pending') return;
    record.state = 'running';
  }

  complete(id: string, result: unknown): void {
    const record = this.#futures.get(id);
    if (!record || record.state === 'complete' || record.state === 'failed') return;
    record.state = 'complete';
    record.result = result;
    record.completedAt = new Date();
    this.#settled(record);
  }

  fail(id: string, error: string, category: FailureCategory): void {
    const record = this.#futures.get(id);
    if (!record || record.state === 'complete' || record.state === 'failed') return;
    record.state = 'failed';
    record.error = error;
    record.category = category;
    record.completedAt = new Date();
    this.#settled(record);
  }

  /** The result reached a client that was still connected: the retention clock starts. */
  delivered(id: string): void {
    const record = this.#futures.get(id);
    if (!record || record.deliveredAt) return;
    record.deliveredAt = new Date();
    this.#write(record);
  }

  /**
   * Resolves when the future settles, or with the unsettled record after `timeoutMs` or when
   * `signal` aborts (the client went away).
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<FutureRecord | undefined> {
    const record = this.#futures.get(id);
    if (!record || record.state === 'complete' || record.state === 'failed' || timeoutMs <= 0 || this.#released) return Promise.resolve(record);
    return new Promise((resolve) => {
      let set = this.#waiters.get(id);
      if (!set) this.#waiters.set(id, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set!.delete(done);
        if (set!.size === 0 && this.#waiters.get(id) === set) this.#waiters.delete(id);
        resolve(this.#futures.get(id));
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /**
   * The daemon is stopping: every long poll answers now (408, the SDK re-polls) instead of
   * holding the HTTP drain for up to its whole wait.
   */
  releaseWaiters(): void {
    this.#released = true;
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
  }

  /**
   * Drops settled futures delivered more than `deliveredTtlMs` ago, or never delivered and older
   * than `undeliveredTtlMs`; with `maxAgeMs`, every settled future older than that (cleanup_futures).
   */
  async cleanup({ deliveredTtlMs, undeliveredTtlMs, maxAgeMs }: { deliveredTtlMs: number; undeliveredTtlMs: number; maxAgeMs?: number }): Promise<number> {
    const now = Date.now();
    const gone: string[] = [];
    for (const record of this.#futures.values()) {
      if (record.state !== 'complete' && record.state !== 'failed') continue;
      const settledAt = record.completedAt?.getTime() ?? record.createdAt.getTime();
      // Never before the delivered-retention floor: the SDK may still re-poll a result it lost.
      const deliveredOld = record.deliveredAt !== null && now - record.deliveredAt.getTime() > deliveredTtlMs;
      const undeliveredOld = record.deliveredAt === null && now - settledAt > undeliveredTtlMs;
      const aged = maxAgeMs !== undefined && now - settledAt > maxAgeMs && (record.deliveredAt === null || now - record.deliveredAt.getTime() > Math.min(deliveredTtlMs, 300_000));
      if (deliveredOld || undeliveredOld || aged) gone.push(record.id);
    }
    for (const id of gone) {
      this.#futures.delete(id);
      this.#dirty.delete(id);
    }
    if (gone.length > 0) {
      await this.flush();
      for (let i = 0; i < gone.length; i += 500) await this.#db.em().nativeDelete(TinkerFutureEntity, { id: { $in: gone.slice(i, i + 500) } });
    }
    return gone.length;
  }

  /** Writes every pending change now. */
  async flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    while (this.#flushing) await this.#flushing;
    if (this.#dirty.size === 0) return;
    const batch = [...this.#dirty.values()];
    this.#dirty.clear();
    this.#flushing = (async () => {
      try {
        // One statement per batch: a burst of futures costs the daemon's event loop one write.
        await this.#db.em().upsertMany(TinkerFutureEntity, batch.map(({ record }) => toRow(record)));
      } catch (error) {
        this.#logger.warn('could not store tinker futures', { count: batch.length, error: (error as Error).message });
      }
    })().finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
  }

  #settled(record: FutureRecord): void {
    this.#write(record);
    const waiters = this.#waiters.get(record.id);
    if (waiters) for (const wake of [...waiters]) wake();
  }

  #write(record: FutureRecord): void {
    this.#dirty.set(record.id, { record });
    // Write-behind, batched: a burst of submits costs one transaction's worth of writes.
    this.#flushTimer ??= setTimeout(() => void this.flush(), 20);
  }
}

function fromRow(row: TinkerFutureRow): FutureRecord {
  return {
    id: row.id,
    kind: row.kind,
    modelId: row.modelId ?? null,
    samplerId: row.samplerId ?? null,
    sessionId: row.sessionId ?? null,
    seqId: row.seqId == null ? null : Number(row.seqId),
    payloadHash: row.payloadHash ?? null,
    state: row.state as FutureState,
    result: row.result ?? null,
    error: row.error ?? null,
    category: (row.category as FailureCategory | null) ?? null,
    createdAt: row.createdAt,
    completedAt: row.completedAt ?? null,
    deliveredAt: row.deliveredAt ?? null,
  };
}

function toRow(record: FutureRecord): TinkerFutureRow {
  return { ...record } as TinkerFutureRow;
}
