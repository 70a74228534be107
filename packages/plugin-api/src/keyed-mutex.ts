/**
 * One lock per key: `run(key, fn)` waits for every earlier `run` with the same key, so two
 * operations on one server (a start racing a stop, a crash restart racing a delete, a double
 * start of one name) never interleave: the second sees the first one's outcome.
 *
 * @example
 * ```ts
 * const locks = new KeyedMutex();
 * await locks.run(name, () => startServer(name));
 * ```
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
