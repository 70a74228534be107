/** How many failed credential checks one source address may make per window. */
export interface FailedAttemptPolicy {
  limit: number;
  windowSeconds: number;
}

interface Window {
  count: number;
  endsAt: number;
}

/**
 * Counts failed key and password checks per source address (fixed windows). Once an address has
 * failed `limit` times, its checks are refused without looking at the credential until its
 * window ends, so guessing a key or a password costs a window per `limit` guesses. Windows that
 * ended are swept, so memory stays bounded by the addresses failing right now.
 */
export class FailedAttempts {
  readonly #windows = new Map<string, Window>();
  readonly #policy: FailedAttemptPolicy;
  readonly #now: () => number;
  #sinceSweep = 0;

  constructor(policy: FailedAttemptPolicy, { now = Date.now }: { now?: () => number } = {}) {
    this.#policy = policy;
    this.#now = now;
  }

  /** Seconds until `address` may try again; 0 when it may now. */
  blockedFor(address: string): number {
    const window = this.#windows.get(address);
    const now = this.#now();
    if (!window || window.endsAt <= now || window.count < this.#policy.limit) return 0;
    return Math.max(1, Math.ceil((window.endsAt - now) / 1000));
  }

  fail(address: string): void {
    const now = this.#now();
    if (++this.#sinceSweep >= 1000) this.#sweep(now);
    const window = this.#windows.get(address);
    if (!window || window.endsAt <= now) this.#windows.set(address, { count: 1, endsAt: now + this.#policy.windowSeconds * 1000 });
    else window.count++;
  }

  #sweep(now: number): void {
    this.#sinceSweep = 0;
    for (const [address, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(address);
  }
}
