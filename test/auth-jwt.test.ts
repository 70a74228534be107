import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../core/auth/password-hash.ts';
import { createLogger } from '../core/services/logger-service.ts';
import { authTestPlugin } from './helpers/auth-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

// Cheap scrypt parameters keep logins fast in tests; the format is the production one.
const cheap = { N: 1024, r: 8, p: 1 };
const operatorKey = 'k'.repeat(32);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sign = (header: unknown, claims: unknown, secret: string | Buffer, alg: 'sha256' | 'sha512' = 'sha256') => {
  const body = `${b64(header)}.${b64(claims)}`;
  return `${body}.${createHmac(alg, secret).update(body).digest('base64url')}`;
};
const claimsFor = (sub: string, scope: string, { iat = Math.floor(Date.now() / 1000), ttl = 600 } = {}) => ({ iss: 'backplane', sub, scope, typ: 'access', iat, exp: iat + ttl, jti: 'test' });

async function users() {
  return [
    { name: 'alice', passwordHash: await hashPassword('alice-pw', cheap), scopes: ['operate' as const] },
    { name: 'bob', passwordHash: await hashPassword('bob-pw', cheap), scopes: ['read' as const] },
  ];
}

describe('users, JWT login and refresh', () => {
  let bp: TestDaemon;
  let secret: string;
  const login = (name: string, password: string) =>
    bp.gql<{ login: { accessToken: string; refreshToken: string; expiresAt: string; scopes: string[] } }>('mutation ($n: String!, $p: String!) { login(name: $n, password: $p) { accessToken refreshToken expiresAt scopes principal tokenType } }', { n: name, p: password });
  const restLogin = (username: string, password: string) => bp.request('/t/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const restRefresh = (token: string) => bp.request('/t/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: token }) });
  const whoami = (token: string) => bp.request('/t/whoami', { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [authTestPlugin], config: { server: { host: '0.0.0.0' }, auth: { keys: [{ name: 'ops', key: operatorKey, scopes: ['operate'] }], users: await users(), loginRateLimit: { limit: 100 } } } });
    secret = (await readFile(path.join(bp.dataDir, 'auth', 'jwt-secret'), 'utf8')).trim();
  });
  afterAll(() => bp.stop());

  test('the generated secret file is private to the daemon user', async () => {
    expect((await stat(path.join(bp.dataDir, 'auth', 'jwt-secret'))).mode & 0o777).toBe(0o600);
    expect(secret.length).toBeGreaterThanOrEqual(64);
  });

  test('login over /graphql needs no key; the token works wherever a key does, with the user’s scopes', async () => {
    const { data, errors } = await login('alice', 'alice-pw');
    expect(errors).toBeUndefined();
    expect(data!.login).toMatchObject({ principal: 'alice', tokenType: 'Bearer', scopes: ['operate'] });
    const token = data!.login.accessToken;
    expect(new Date(data!.login.expiresAt).getTime()).toBeGreaterThan(Date.now() + 800_000);
    // GraphQL over HTTP
    expect((await bp.gql('{ viewer { principal scopes } }', {}, { apiKey: token })).data.viewer).toEqual({ principal: 'alice', scopes: ['operate'] });
    expect((await bp.gql('mutation { cancelJob(id: "t-1") { id } }', {}, { apiKey: token })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    // REST
    const rest = await whoami(token);
    expect(rest.status).toBe(200);
    expect(await rest.json()).toEqual({ principal: 'alice', scopes: ['operate'] });
    // graphql-ws connection_init
    const first = await bp.ws({ apiKey: token }).iterate({ query: '{ viewer { principal } }' }).next();
    expect(first.value.data.viewer).toEqual({ principal: 'alice' });
    // /metrics
    expect((await bp.request('/metrics', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test('a read-only user may query but not mutate', async () => {
    const token = (await login('bob', 'bob-pw')).data!.login.accessToken;
    const denied = await bp.gql('mutation { cancelJob(id: "t-1") { id } }', {}, { apiKey: token });
    expect(denied.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  test('a wrong password and an unknown user get the same 401 answer', async () => {
    const wrong = await login('alice', 'nope');
    const unknown = await login('mallory', 'nope');
    expect(wrong.errors?.[0]).toMatchObject({ message: 'Invalid user name or password', extensions: { code: 'UNAUTHENTICATED' } });
    expect(unknown.errors?.[0].message).toBe(wrong.errors?.[0].message);
    const rest = await restLogin('alice', 'nope');
    expect(rest.status).toBe(401);
    expect(await rest.json()).toEqual({ error: 'Unauthorized', code: 'UNAUTHENTICATED', details: 'Invalid user name or password' });
  });

  test('without credentials only the public fields run: anything else, or a mix, is a 401 that reveals nothing', async () => {
    const post = (query: string) => bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    for (const query of ['{ viewer { principal } }', 'mutation { login(name: "alice", password: "alice-pw") { accessToken } cancelJob(id: "t-1") { id } }', '{ noSuchField }', 'not graphql']) {
      const response = await post(query);
      expect(response.status).toBe(401);
      expect(JSON.stringify(await response.json())).not.toMatch(/noSuchField|Did you mean|Syntax/);
    }
    const rest = await bp.request('/t/whoami');
    expect(rest.status).toBe(401);
    expect((await rest.json()).code).toBe('UNAUTHENTICATED');
  });

  test('REST login and refresh: refresh tokens rotate, and a spent one revokes its whole login', async () => {
    const first = await restLogin('alice', 'alice-pw');
    expect(first.status).toBe(200);
    const pair = (await first.json()) as { accessToken: string; refreshToken: string };
    expect((await whoami(pair.accessToken)).status).toBe(200);

    const rotated = await restRefresh(pair.refreshToken);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as { accessToken: string; refreshToken: string };
    expect(next.refreshToken).not.toBe(pair.refreshToken);
    expect((await whoami(next.accessToken)).status).toBe(200);

    // The spent token comes back (a replay): refused, and the token issued after it dies too.
    const replay = await restRefresh(pair.refreshToken);
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe('UNAUTHENTICATED');
    expect((await restRefresh(next.refreshToken)).status).toBe(401);
    expect((await restRefresh('bprt_nonsense')).status).toBe(401);
    // An access token is not a refresh token.
    expect((await restRefresh(next.accessToken)).status).toBe(401);
  });

  test('a new login revokes the refresh tokens of the previous one', async () => {
    const older = (await login('bob', 'bob-pw')).data!.login;
    const newer = (await login('bob', 'bob-pw')).data!.login;
    const stale = await bp.gql('mutation ($t: String!) { refreshToken(token: $t) { accessToken } }', { t: older.refreshToken });
    expect(stale.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const fresh = await bp.gql('mutation ($t: String!) { refreshToken(token: $t) { accessToken scopes } }', { t: newer.refreshToken });
    expect(fresh.data.refreshToken.scopes).toEqual(['read']);
  });

  test('forged tokens are 401 everywhere: alg none, another algorithm, tampered claims, foreign secret, expired, unknown user', async () => {
    const good = sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('bob', 'read'), secret);
    expect((await whoami(good)).status).toBe(200); // the forgeries below differ from a valid token in one thing each

    const [header, payload, signature] = good.split('.');
    const forged = {
      none: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      noneSigned: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
      hs512: sign({ alg: 'HS512', typ: 'JWT' }, claimsFor('bob', 'read'), secret, 'sha512'),
      tamperedScope: `${header}.${b64(claimsFor('bob', 'read operate admin'))}.${signature}`,
      foreignSecret: sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('bob', 'read'), 'x'.repeat(64)),
      expired: sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('bob', 'read', { iat: Math.floor(Date.now() / 1000) - 120, ttl: 60 }), secret),
      unknownUser: sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('mallory', 'admin'), secret),
      wrongType: sign({ alg: 'HS256', typ: 'JWT' }, { ...claimsFor('bob', 'read'), typ: 'refresh' }, secret),
      truncated: `${header}.${payload}`,
    };
    for (const [name, token] of Object.entries(forged)) {
      const rest = await whoami(token);
      expect(rest.status, name).toBe(401);
      expect(await rest.json(), name).toMatchObject({ code: 'UNAUTHENTICATED' });
      const graphql = await bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"query":"{ viewer { principal } }"}' });
      expect(graphql.status, name).toBe(401);
      expect((await graphql.json()).errors[0].extensions.code, name).toBe('UNAUTHENTICATED');
    }
    await expect(bp.ws({ apiKey: forged.none }).iterate({ query: '{ viewer { principal } }' }).next()).rejects.toBeDefined();
    await expect(bp.ws({ apiKey: forged.tamperedScope }).iterate({ query: '{ viewer { principal } }' }).next()).rejects.toBeDefined();
  });

  test('a token never grants more than the user holds: claimed scopes are capped by the config', async () => {
    const overclaimed = sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('bob', 'read admin'), secret);
    expect(await (await whoami(overclaimed)).json()).toEqual({ principal: 'bob', scopes: ['read'] });
  });

  test('API keys keep working next to users', async () => {
    expect((await whoami(operatorKey)).status).toBe(200);
    expect((await bp.request('/t/whoami', { headers: { 'x-api-key': operatorKey } })).status).toBe(200);
  });
});

describe('access token expiry', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    process.env.BP_TEST_JWT_SECRET = 's'.repeat(48);
    bp = await startTestDaemon({ plugins: [authTestPlugin], config: { auth: { users: await users(), jwt: { accessTokenTtlSeconds: 1, secretEnv: 'BP_TEST_JWT_SECRET' } } } });
  });
  afterAll(() => bp.stop());

  test('an expired access token is a 401; its refresh token still renews it', async () => {
    const tokens = (await bp.gql('mutation { login(name: "alice", password: "alice-pw") { accessToken refreshToken } }')).data.login;
    await waitFor(async () => ((await bp.request('/t/whoami', { headers: { authorization: `Bearer ${tokens.accessToken}` } })).status === 401 ? true : undefined), { timeoutMs: 5_000 });
    const renewed = await bp.gql('mutation ($t: String!) { refreshToken(token: $t) { accessToken principal } }', { t: tokens.refreshToken });
    expect(renewed.errors).toBeUndefined();
    expect(renewed.data.refreshToken.principal).toBe('alice');
    expect(renewed.data.refreshToken.accessToken).not.toBe(tokens.accessToken);
  });

  test('a graphql-ws socket opened with an access token closes with 4401 when the token expires', async () => {
    const token = sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('alice', 'operate', { ttl: 2 }), process.env.BP_TEST_JWT_SECRET!);
    const closed = new Promise<number>((resolve) => {
      const client = createClient({ url: `${bp.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, on: { closed: (event) => resolve((event as { code: number }).code) } });
      client.subscribe({ query: 'subscription { pluginStatusChanged { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    });
    expect(await closed).toBe(4401);
  });

  test('secretEnv signs with the variable’s value instead of a generated file', async () => {
    const token = sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('alice', 'operate'), process.env.BP_TEST_JWT_SECRET!);
    expect((await bp.request('/t/whoami', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await expect(stat(path.join(bp.dataDir, 'auth', 'jwt-secret'))).rejects.toThrow();
  });
});

test('tokens outlive a restart: the secret file and the refresh tokens persist in the data dir', async () => {
  const config = { auth: { users: await users() } };
  const first = await startTestDaemon({ plugins: [authTestPlugin], config });
  const tokens = (await first.gql('mutation { login(name: "alice", password: "alice-pw") { accessToken refreshToken } }')).data.login;
  await first.stop({ keepData: true });
  const second = await startTestDaemon({ plugins: [authTestPlugin], config, dataDir: first.dataDir });
  try {
    expect((await second.gql('{ viewer { principal } }', {}, { apiKey: tokens.accessToken })).data.viewer.principal).toBe('alice');
    const renewed = await second.gql('mutation ($t: String!) { refreshToken(token: $t) { principal } }', { t: tokens.refreshToken });
    expect(renewed.data.refreshToken.principal).toBe('alice');
  } finally {
    await second.stop();
    await rm(first.dataDir, { recursive: true, force: true });
  }
});

test('a secret file other users may read stops the start', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-jwt-mode-'));
  try {
    await mkdir(path.join(dataDir, 'auth'));
    await writeFile(path.join(dataDir, 'auth', 'jwt-secret'), 'z'.repeat(64), { mode: 0o644 });
    await expect(startTestDaemon({ config: { auth: { users: await users() } }, dataDir })).rejects.toThrow(/jwt-secret may be read by other users \(mode 644\); run chmod 600 on it/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('logins over /graphql without a key are limited per address (auth.loginRateLimit)', async () => {
  const bp = await startTestDaemon({ config: { auth: { users: await users(), loginRateLimit: { limit: 2, windowSeconds: 600 } } } });
  try {
    const attempt = () => bp.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'mutation { login(name: "alice", password: "guess") { accessToken } }' }) });
    const [first, second, third] = [await attempt(), await attempt(), await attempt()];
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(200);
    expect((await third.json()).errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' }, message: expect.stringMatching(/^Too many requests: at most 2 logins per 600 s/) });
    // Callers with a valid token are not counted against the address.
    const key = sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('alice', 'operate'), (await readFile(path.join(bp.dataDir, 'auth', 'jwt-secret'), 'utf8')).trim());
    expect((await bp.gql('{ viewer { principal } }', {}, { apiKey: key })).data.viewer.principal).toBe('alice');
  } finally {
    await bp.stop();
  }
});

test('log fields named like secrets are redacted in camelCase, snake_case and kebab-case alike', () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (line) => lines.push(line) });
  logger.info('tokens', { accessToken: 'a1', refresh_token: 'r1', passwordHash: 'h1', jwtSecret: 's1', 'x-api-key': 'k1', Cookie: 'c1', tokensPerSecond: 42, user: 'alice' });
  expect(lines[0]).not.toMatch(/a1|r1|h1|s1|k1|c1/);
  expect(JSON.parse(lines[0])).toMatchObject({ accessToken: '[redacted]', passwordHash: '[redacted]', tokensPerSecond: 42, user: 'alice' });
});
