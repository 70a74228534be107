import { expect, test } from 'vitest';
import { RateLimiter, rateLimitHeaders, resolveRateLimits, standardRateLimits } from './rate-limit.ts';

test('a bucket refills at limit per window and never beyond its limit', () => {
  let now = 1_000_000;
  const limiter = new RateLimiter({ now: () => now });
  const bucket = { limit: 2, windowSeconds: 10 };
  expect([limiter.take('k', bucket).allowed, limiter.take('k', bucket).allowed, limiter.take('k', bucket).allowed]).toEqual([true, true, false]);
  const refused = limiter.take('k', bucket);
  expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfter: 5, resetAt: Math.ceil((now + 10_000) / 1000) });
  expect(rateLimitHeaders(refused)).toEqual({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(refused.resetAt), 'retry-after': '5' });
  now += 5_000; // one token back
  expect(limiter.take('k', bucket)).toMatchObject({ allowed: true, remaining: 0 });
  now += 3_600_000;
  expect(limiter.take('k', bucket)).toMatchObject({ allowed: true, remaining: 1 });
  expect(limiter.take('other', bucket).remaining).toBe(1);
});

test('refilled buckets are forgotten, so idle callers cost no memory', () => {
  let now = 0;
  const limiter = new RateLimiter({ now: () => now });
  for (let i = 0; i < 999; i++) limiter.take(`caller-${i}`, { limit: 5, windowSeconds: 1 });
  expect(limiter.size).toBe(999);
  now += 2_000;
  limiter.take('late', { limit: 5, windowSeconds: 1 });
  expect(limiter.size).toBe(1);
});

test('config over the profile default: absent keeps it, a section turns limits on, enabled: false off', () => {
  expect(resolveRateLimits(undefined, undefined)).toBeUndefined();
  expect(resolveRateLimits(standardRateLimits, undefined)).toBe(standardRateLimits);
  expect(resolveRateLimits(standardRateLimits, { enabled: false })).toBeUndefined();
  expect(resolveRateLimits(undefined, { enabled: true, heavy: { limit: 1, windowSeconds: 5 } })).toEqual({ default: { limit: 100, windowSeconds: 60 }, heavy: { limit: 1, windowSeconds: 5 } });
});
