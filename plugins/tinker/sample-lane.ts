import { QueueFullError } from './model-queue.ts';

/**
 * A sampler's own lane: at most `concurrency` requests at once, at most `limit` waiting, never
 * behind a model's training queue (training-apis §2.8: samples must not wait for training).
 */
export class SampleLane {
  readonly #concurrency: number;
  readonly #limit: number;
  readonly #waiting: (() => void)[] = [];
  #active = 0;

  constructor({ concurrency, limit }: { concurrency: number; limit: number }) {
    this.#concurrency = concurrency;
    this.#limit = limit;
  }

  get active(): number {
    return this.#active;
  }
  get queued(): number {
    return this.#waiting.length;
  }

  /** Throws 429 (`paused_capacity`) when the lane is full. */
  check(): void {
    if (this.#waiting.length >= this.#limit) throw new QueueFullError(`sampler queue is full (${this.#waiting.length} waiting, limit ${this.#limit}); retry later`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}
