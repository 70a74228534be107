import { ConflictError, InputError, BackplaneError } from '../../core/plugin-api.ts';

/** How many executed seq_ids stay recognisable as duplicates. */
const seenWindow = 4096;

/** One ordered operation of a model. */
export interface OrderedOp {
  seqId: number;
  futureId: string;
  payloadHash: string;
  kind: string;
  /** Runs the operation; the queue awaits it before the next seq_id. */
  run(): Promise<void>;
}

/** What a submit resolved to: a new op, or the request id of the same op submitted before. */
export type SubmitOutcome = { duplicate: false } | { duplicate: true; futureId: string };

/** Backpressure: the queue is full (429 with `queue_state`). */
export class QueueFullError extends BackplaneError {
  readonly queueState = 'paused_capacity';
  constructor(message: string) {
    super('RATE_LIMITED', message);
  }
}

/**
 * A model's operations in `seq_id` order (training-apis §2.4): ops that arrive early wait in a
 * buffer until every lower seq_id has run (the SDK sends parallel chunks with chunk 1 last); one
 * runs at a time. A second submit of a seq_id with the same payload is the same request (the
 * SDK retries POSTs); with another payload it is a 409. Ops without a seq_id (the seed's curl
 * bodies) take the next one after every seq_id seen.
 */
export class ModelQueue {
  readonly #buffer = new Map<number, OrderedOp>();
  readonly #seen = new Map<number, { futureId: string; payloadHash: string }>();
  readonly #limit: number;
  /** The seq_id that runs next. */
  #next = 1;
  #highest = 0;
  #running: OrderedOp | undefined;
  #gate: (() => Promise<void>) | undefined;
  #started = false;

  constructor({ limit, gate }: { limit: number; gate?: () => Promise<void> }) {
    this.#limit = limit;
    this.#gate = gate;
  }

  /** Ops waiting or running. */
  get depth(): number {
    return this.#buffer.size + (this.#running ? 1 : 0);
  }
  /** The seq_id the queue waits for when ops are buffered behind a gap, else null. */
  get waitingFor(): number | null {
    return this.#buffer.size > 0 && !this.#running && !this.#buffer.has(this.#next) ? this.#next : null;
  }
  get lastSeqId(): number {
    return this.#next - 1;
  }

  /** The seq_id an op without one gets. */
  nextAutoSeq(): number {
    return Math.max(this.#highest, this.#next - 1) + 1;
  }

  /** Checks a submit before a future is made for it. */
  check(seqId: number, payloadHash: string): SubmitOutcome {
    const seen = this.#seen.get(seqId);
    if (seen) {
      if (seen.payloadHash === payloadHash) return { duplicate: true, futureId: seen.futureId };
      throw new ConflictError(`seq_id ${seqId} was already used for a different request on this model (sequence number reused)`);
    }
    if (seqId < this.#next && !(seqId === 0 && !this.#started && this.#next === 1)) {
      throw new InputError(`seq_id: ${seqId} is behind this model's sequence (next expected ${this.#next})`);
    }
    // The op the queue waits for is always taken: refusing it would leave the buffer stuck.
    if (this.depth >= this.#limit && seqId !== this.#next) throw new QueueFullError(`model queue is full (${this.depth} operations queued, limit ${this.#limit}); retry later`);
    return { duplicate: false };
  }

  /** Adds an op checked by {@link check}. */
  add(op: OrderedOp): void {
    if (op.seqId === 0 && !this.#started && this.#next === 1) this.#next = 0;
    this.#seen.set(op.seqId, { futureId: op.futureId, payloadHash: op.payloadHash });
    this.#highest = Math.max(this.#highest, op.seqId);
    this.#buffer.set(op.seqId, op);
    this.#pump();
  }

  /** Drops every buffered op (a crash, a delete); returns them so their futures can fail. */
  drain(): OrderedOp[] {
    const dropped = [...this.#buffer.values()];
    this.#buffer.clear();
    // Their seq_ids count as used: the client must not be stuck waiting behind them.
    for (const op of dropped) this.#next = Math.max(this.#next, op.seqId + 1);
    return dropped;
  }

  #pump(): void {
    if (this.#running) return;
    const op = this.#buffer.get(this.#next);
    if (!op) return;
    this.#buffer.delete(this.#next);
    this.#running = op;
    this.#started = true;
    this.#next = op.seqId + 1;
    // Retries come within minutes: remember the recent seq_ids only, not a model's whole history.
    this.#seen.delete(op.seqId - seenWindow);
    void (async () => {
      try {
        if (this.#gate) await this.#gate();
        await op.run();
      } catch {
        // run() settles its own future; nothing may stop the queue.
      } finally {
        this.#running = undefined;
        this.#pump();
      }
    })();
  }
}
