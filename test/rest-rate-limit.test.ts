import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { authTestPlugin } from './helpers/auth-test-plugin.ts';
import { restTestPlugin } from './helpers/rest-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const keys = { a: 'a'.repeat(32), b: 'b'.repeat(32) };

describe('REST rate limits', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({
      plugins: [authTestPlugin, restTestPlugin],
      config: {
        auth: { keys: [{ name: 'a', key: keys.a, scopes: ['read'] }, { name: 'b', key: keys.b, scopes: ['read'] }] },
        rest: { profiles: { llamactl: { rateLimits: { default: { limit: 3, windowSeconds: 60 }, heavy: { limit: 2, windowSeconds: 600 } } } } },
      },
    });
  });
  afterAll(() => bp.stop());

  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

  test('a caller over its bucket gets 429 in the profile’s format, with the X-RateLimit-* headers and Retry-After', async () => {
    const before = Math.floor(Date.now() / 1000);
    const seen: { status: number; remaining: string | null; limit: string | null; reset: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await bp.request('/t/whoami', as(keys.a));
      seen.push({ status: response.status, remaining: response.headers.get('x-ratelimit-remaining'), limit: response.headers.get('x-ratelimit-limit'), reset: Number(response.headers.get('x-ratelimit-reset')) });
      if (i === 3) {
        expect(await response.json()).toEqual({ error: 'Too Many Requests', code: 'RATE_LIMITED', details: expect.stringMatching(/^Too many requests: at most 3 per 60 s/) });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(20);
      } else {
        expect(response.headers.get('retry-after')).toBeNull();
      }
    }
    expect(seen.map((s) => [s.status, s.limit, s.remaining])).toEqual([
      [200, '3', '2'],
      [200, '3', '1'],
      [200, '3', '0'],
      [429, '3', '0'],
    ]);
    // Reset: the Unix time at which the bucket is full again, within one window from now.
    for (const { reset } of seen) {
      expect(reset).toBeGreaterThanOrEqual(before);
      expect(reset).toBeLessThanOrEqual(before + 61);
    }
  });

  test('buckets are per caller and per class; `none` routes and other profiles are not limited', async () => {
    expect((await bp.request('/t/whoami', as(keys.b))).status).toBe(200);
    const heavy = [];
    for (let i = 0; i < 3; i++) heavy.push(await bp.request('/t/heavy', { method: 'POST', ...as(keys.b) }));
    expect(heavy.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(heavy[0].headers.get('x-ratelimit-limit')).toBe('2');
    expect(Number(heavy[2].headers.get('retry-after'))).toBeGreaterThan(200); // 2 per 600 s: one token every 300 s
    // b's default bucket is untouched by its heavy requests.
    expect((await bp.request('/t/whoami', as(keys.b))).headers.get('x-ratelimit-remaining')).toBe('1');

    const free = await bp.request('/t/free', as(keys.a));
    expect(free.status).toBe(200);
    expect(free.headers.get('x-ratelimit-limit')).toBeNull();
    const otherProfile = await bp.request('/training-manager/datasets/ada', as(keys.a));
    expect(otherProfile.status).toBe(200);
    expect(otherProfile.headers.get('x-ratelimit-limit')).toBeNull();
  });

  test('callers without a valid key are counted by address, and limited before their 401', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const response = await bp.request('/t/whoami', as('w'.repeat(32)));
      statuses.push(response.status);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The login route is heavy: brute force from one address stops after two tries.
    const logins = [];
    for (let i = 0; i < 3; i++) logins.push((await bp.request('/t/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"x","password":"y"}' })).status);
    expect(logins).toEqual([503, 503, 429]);
  });
});

describe('rate limits are off by default', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [authTestPlugin], config: { rest: { profiles: { llamactl: { rateLimits: { enabled: false, default: { limit: 1 } } } } } } });
  });
  afterAll(() => bp.stop());

  test('no headers and no 429 without a rateLimits section, or with enabled: false', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await bp.request('/t/whoami');
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});
