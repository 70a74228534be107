/**
 * A bounded push queue consumed as an async iterator. When the consumer falls behind by more
 * than `capacity` items the oldest are dropped and counted, so a slow subscriber costs bounded
 * memory instead of the daemon's life.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #head = 0;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #closed = false;
  #error: unknown;
  #onReturn: (() => void) | undefined;
  dropped = 0;
  readonly capacity: number;

  constructor(capacity = 10_000, onReturn?: () => void) {
    this.capacity = capacity;
    this.#onReturn = onReturn;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value: item, done: false });
      return;
    }
    if (this.size >= this.capacity) {
      this.#head++;
      this.dropped++;
    }
    this.#items.push(item);
  }

  /** Ends the stream after the queued items; `error` is thrown to the consumer instead. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) {
      if (error !== undefined) waiting(Promise.reject(error) as never);
      else waiting({ value: undefined, done: true });
    }
    this.#release();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#items[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#closed) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#items = [];
    this.#head = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #release(): void {
    const onReturn = this.#onReturn;
    this.#onReturn = undefined;
    onReturn?.();
  }
}
