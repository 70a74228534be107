import type { RateLimitsConfig } from '../config/schema.ts';
import type { RateLimitClass } from './route.ts';

/** One class's bucket: `limit` requests in a burst, refilled at `limit` per `windowSeconds`. */
export interface RateLimitBucket {
  limit: number;
  windowSeconds: number;
}

/** A profile's limits per route class. */
export type ProfileRateLimits = Record<Exclude<RateLimitClass, 'none'>, RateLimitBucket>;

/** llamactl's documented limits: 100 requests a minute, 10 for resource-intensive operations. */
export const standardRateLimits: ProfileRateLimits = { default: { limit: 100, windowSeconds: 60 }, heavy: { limit: 10, windowSeconds: 60 } };

/**
 * A profile's effective limits: config over the profile's own default. Off (undefined) unless
 * the profile turns them on or config has a `rateLimits` section without `enabled: false`.
 */
export function resolveRateLimits(profileDefault: ProfileRateLimits | undefined, config: RateLimitsConfig | undefined): ProfileRateLimits | undefined {
  if (config === undefined) return profileDefault;
  if (!config.enabled) return undefined;
  const base = profileDefault ?? standardRateLimits;
  return { default: config.default ?? base.default, heavy: config.heavy ?? base.heavy };
}

/** The outcome of one request against its bucket, with what the `X-RateLimit-*` headers say. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix time (seconds) at which the bucket is full again. */
  resetAt: number;
  /** Seconds until one more request is allowed (0 when allowed). */
  retryAfter: number;
}

interface BucketState {
  tokens: number;
  updatedAt: number;
  /** When the bucket is full again (ms); a full bucket is forgotten. */
  fullAt: number;
}

/**
 * Token buckets per key (profile, class, caller). Memory stays bounded by callers active within
 * one window: buckets that have refilled are dropped by a sweep every `sweepEvery` decisions.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, BucketState>();
  readonly #now: () => number;
  #sinceSweep = 0;

  constructor({ now = Date.now }: { now?: () => number } = {}) {
    this.#now = now;
  }

  take(key: string, { limit, windowSeconds }: RateLimitBucket): RateLimitDecision {
    const now = this.#now();
    if (++this.#sinceSweep >= 1000) this.#sweep(now);
    const perMs = limit / (windowSeconds * 1000);
    const state = this.#buckets.get(key);
    let tokens = state ? Math.min(limit, state.tokens + (now - state.updatedAt) * perMs) : limit;
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    const fullAt = now + (limit - tokens) / perMs;
    this.#buckets.set(key, { tokens, updatedAt: now, fullAt });
    return {
      allowed,
      limit,
      remaining: Math.floor(tokens),
      resetAt: Math.ceil(fullAt / 1000),
      retryAfter: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
    };
  }

  /** How many callers' buckets are held (tests, metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    this.#sinceSweep = 0;
    for (const [key, state] of this.#buckets) if (state.fullAt <= now) this.#buckets.delete(key);
  }
}

/** The `X-RateLimit-*` headers (and `Retry-After` on a refusal) for a decision. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(decision.resetAt),
  };
  if (!decision.allowed) headers['retry-after'] = String(decision.retryAfter);
  return headers;
}
