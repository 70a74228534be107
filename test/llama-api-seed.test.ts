import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../core/auth/password-hash.ts';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const llamaServer = await locateLlamaServer();
const operatorKey = 'seed-operator-key-0123456789';
// Cheap scrypt parameters keep logins fast; the format is the production one.
const cheap = { N: 1024, r: 8, p: 1 };

/** A WebSocket on `/api/ws` collecting its messages. */
function openEvents(url: string, headers: Record<string, string>) {
  const messages: any[] = [];
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/ws?stats_interval=0.2`, { headers });
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, opened };
}

describe.skipIf(llamaServer.skip !== undefined)(`llamactl's documented /api face against the real llama-server${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let port: number;
  const auth = { authorization: `Bearer ${operatorKey}` };
  const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    bp.request(path, {
      method: init.method ?? 'GET',
      headers: { ...auth, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    port = await freePort();
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin],
      config: {
        auth: { keys: [{ name: 'ops', key: operatorKey, scopes: ['operate'] }], users: [{ name: 'alice', passwordHash: await hashPassword('alice-pw', cheap), scopes: ['operate'] }] },
        rest: { profiles: { llamactl: { rateLimits: { default: { limit: 1000, windowSeconds: 60 }, heavy: { limit: 100, windowSeconds: 60 } } } } },
        plugins: {
          'llama-cpp': {
            llamaServerPath: llamaServer.path,
            modelRoots: [models.root],
            healthIntervalMs: 200,
            healthTimeoutMs: 500,
            stopTimeoutSeconds: 5,
            defaults: { ctxSize: 256, threads: 1 },
          },
        },
      },
    });
  }, 120_000);

  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }', undefined, { apiKey: operatorKey }).catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('create, duplicate 409, WebSocket status stream, start, health, logs (lines, level, follow), system, config, stop-all, delete', async () => {
    const created = await api('/api/instances', { method: 'POST', body: { name: 'tiny', model_path: models.model, port, options: { threads: 1, context_size: 256, gpu_layers: 0 } } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ message: 'Instance created successfully', instance: { name: 'tiny', status: 'stopped', model_path: models.model, port, options: { threads: 1, context_size: 256, gpu_layers: 0 } } });

    const duplicate = await api('/api/instances', { method: 'POST', body: { name: 'tiny', model_path: models.model } });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({ error: 'Conflict', code: 'CONFLICT', details: "Instance 'tiny' already exists" });

    const events = openEvents(bp.url, auth);
    await events.opened;
    await waitFor(() => events.messages.find((m) => m.type === 'instance_status_changed' && m.data.name === 'tiny'), { timeoutMs: 5_000 });
    expect(events.messages[0]).toMatchObject({ type: 'instance_status_changed', data: { name: 'tiny', status: 'stopped', port } });

    const started = await api('/api/instances/tiny/start', { method: 'POST' });
    expect(started.status).toBe(200);
    expect(await started.json()).toEqual({ message: 'Instance start initiated', status: 'starting' });
    await waitFor(() => events.messages.find((m) => m.type === 'instance_status_changed' && m.data.status === 'running'), { timeoutMs: 30_000 });
    const statuses = events.messages.filter((m) => m.type === 'instance_status_changed').map((m) => m.data.status);
    expect(statuses).toEqual(['stopped', 'starting', 'running']);
    const stats = await waitFor(() => events.messages.find((m) => m.type === 'instance_stats_updated' && m.data.status === 'running' && m.data.stats.memory_usage > 0), { timeoutMs: 5_000 });
    expect(stats.data).toMatchObject({ name: 'tiny', health: 'ok' });
    expect(stats.data.stats.uptime).toBeGreaterThanOrEqual(0);

    const health = await (await api('/api/instances/tiny/health')).json();
    expect(health).toMatchObject({ status: 'healthy', checks: { process: 'running', port: 'open', response: 'ok' }, failure_count: 0 });
    expect(Date.parse(health.last_check)).toBeGreaterThan(0);

    const detail = await (await api('/api/instances/tiny')).json();
    expect(detail).toMatchObject({ name: 'tiny', status: 'running', model_path: models.model, port, options: { threads: 1, context_size: 256 } });
    expect(detail.pid).toBeGreaterThan(0);
    expect(detail.stats.memory_usage).toBeGreaterThan(0);
    const list = await (await api('/api/instances')).json();
    expect(list.instances).toEqual([expect.objectContaining({ name: 'tiny', status: 'running', model_path: models.model, port })]);

    // Logs: llama-server's prefix (elapsed time, level letter) becomes timestamp and level.
    const logs = (await (await api('/api/instances/tiny/logs?lines=5')).json()).logs;
    expect(logs).toHaveLength(5);
    for (const entry of logs) expect(entry).toEqual({ timestamp: expect.any(String), level: expect.stringMatching(/^(debug|info|warn|error)$/), message: expect.any(String) });
    const warnings = (await (await api('/api/instances/tiny/logs?lines=50&level=warn')).json()).logs;
    expect(warnings.length).toBeGreaterThan(0); // llama-server warns that it has no API key of its own
    expect(warnings.every((e: { level: string }) => e.level === 'warn' || e.level === 'error')).toBe(true);
    expect(warnings.some((e: { message: string }) => /no API key/.test(e.message))).toBe(true);
    const badLevel = await api('/api/instances/tiny/logs?level=loud');
    expect(badLevel.status).toBe(400);
    expect(await badLevel.json()).toEqual({ error: 'Bad Request', code: 'BAD_USER_INPUT', details: 'level must be one of debug, info, warn, error' });

    // follow=true: NDJSON, the last lines first, then new ones as llama-server writes them.
    const controller = new AbortController();
    const follow = await bp.request('/api/instances/tiny/logs?follow=true&lines=2', { headers: auth, signal: controller.signal });
    expect(follow.status).toBe(200);
    expect(follow.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const reader = follow.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (check: (lines: any[]) => boolean) => {
      for (;;) {
        const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
        if (check(lines)) return lines;
        const { value, done } = await reader.read();
        if (done) throw new Error(`the follow stream ended early: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    expect(await readUntil((lines) => lines.length >= 2)).toHaveLength(2);
    const completion = await fetch(`http://127.0.0.1:${port}/completion`, { method: 'POST', body: JSON.stringify({ prompt: 'Hello', n_predict: 4, temperature: 0 }) });
    expect(completion.status).toBe(200);
    await completion.json();
    const followed = await readUntil((lines) => lines.some((l) => /print_timing|release/.test(l.message)));
    expect(followed.find((l) => /print_timing|release/.test(l.message))).toMatchObject({ level: 'info', timestamp: expect.any(String) });
    controller.abort();

    // A follow stream outlives a restart: it goes on with the next run's log.
    const across = new AbortController();
    const followRestart = await bp.request('/api/instances/tiny/logs?follow=true&lines=0&level=info', { headers: auth, signal: across.signal });
    const restartReader = followRestart.body!.getReader();
    let restartText = '';
    const restarted = await api('/api/instances/tiny/restart', { method: 'POST' });
    expect(await restarted.json()).toEqual({ message: 'Instance restart initiated', status: 'starting' });
    while (!/model loaded/.test(restartText)) {
      const { value, done } = await restartReader.read();
      if (done) throw new Error(`the follow stream ended at the restart: ${restartText}`);
      restartText += decoder.decode(value, { stream: true });
    }
    across.abort();
    await waitFor(() => events.messages.filter((m) => m.type === 'instance_status_changed' && m.data.status === 'running').length === 2 || undefined, { timeoutMs: 30_000 });

    const status = await (await api('/api/system/status')).json();
    expect(status).toMatchObject({ version: expect.any(String), instances: { total: 1, running: 1, stopped: 0 }, resources: { memory_total: expect.any(Number), memory_usage: expect.any(Number), cpu_usage: expect.any(Number) } });
    expect(status.uptime).toBeGreaterThanOrEqual(0);
    const info = await (await api('/api/system/info')).json();
    expect(info).toMatchObject({ hostname: expect.any(String), os: process.platform, cpu_count: expect.any(Number), memory_total: expect.any(Number), version: status.version });
    expect(['amd64', 'arm64']).toContain(info.arch);
    const config = await (await api('/api/config')).json();
    expect(config).toMatchObject({ llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 200 });

    const stopped = await api('/api/instances/stop-all', { method: 'POST' });
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toEqual({ message: 'All instances stopped', instances: [{ name: 'tiny', status: 'stopped' }] });
    await waitFor(() => events.messages.find((m) => m.type === 'instance_status_changed' && m.data.status === 'stopped' && m.data.previous_status !== null), { timeoutMs: 5_000 });
    events.ws.close();

    // The follower of the stopped run ended with the client; the daemon still answers.
    expect((await api('/api/instances/tiny/health')).status).toBe(200);
    const deleted = await api('/api/instances/tiny', { method: 'DELETE' });
    expect(await deleted.json()).toEqual({ message: 'Instance deleted successfully' });
    const gone = await api('/api/instances/tiny');
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: 'Not Found', code: 'NOT_FOUND', details: "Instance 'tiny' not found" });
  }, 90_000);

  test('bad input: unknown fields, a model outside the roots, an unknown instance → 400/404 in the seed format', async () => {
    const unknown = await api('/api/instances', { method: 'POST', body: { name: 'x', model_path: models.model, colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: 'Bad Request', code: 'BAD_USER_INPUT', details: 'Unknown field(s) in body: colour' });
    const outside = await api('/api/instances', { method: 'POST', body: { name: 'x', model_path: '/etc/passwd' } });
    expect(outside.status).toBe(400);
    expect((await outside.json()).code).toBe('BAD_USER_INPUT');
    const broken = await api('/api/instances', { method: 'POST', body: '{"name":' });
    expect(broken.status).toBe(400);
    expect((await broken.json()).code).toBe('BAD_USER_INPUT');
    const start = await api('/api/instances/nope/start', { method: 'POST' });
    expect(start.status).toBe(404);
    expect(await start.json()).toEqual({ error: 'Not Found', code: 'NOT_FOUND', details: "Instance 'nope' not found" });
    const follow = await api('/api/instances/nope/logs?follow=true');
    expect(follow.status).toBe(404);
    expect((await follow.json()).code).toBe('NOT_FOUND');
    const plainWs = await api('/api/ws');
    expect(plainWs.status).toBe(426);
  });

  test('JWT users: login and refresh through /api/auth; a bad or missing token is 401, on the WebSocket too', async () => {
    const none = await bp.request('/api/instances');
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'Unauthorized', code: 'UNAUTHENTICATED' });
    const forged = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.AAAA`;
    const bad = await bp.request('/api/instances', { headers: { authorization: `Bearer ${forged}` } });
    expect(bad.status).toBe(401);
    expect((await bad.json()).code).toBe('UNAUTHENTICATED');

    const wrong = await bp.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'nope' }) });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'Unauthorized', code: 'UNAUTHENTICATED', details: 'Invalid user name or password' });
    const login = await bp.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-pw' }) });
    expect(login.status).toBe(200);
    const tokens = await login.json();
    expect(tokens).toMatchObject({ token: expect.stringMatching(/^eyJ/), expires_at: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer' });
    expect(Date.parse(tokens.expires_at)).toBeGreaterThan(Date.now());
    expect((await bp.request('/api/instances', { headers: { authorization: `Bearer ${tokens.token}` } })).status).toBe(200);

    const refreshed = await bp.request('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
    expect(refreshed.status).toBe(200);
    const next = await refreshed.json();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect((await bp.request('/api/system/info', { headers: { authorization: `Bearer ${next.token}` } })).status).toBe(200);
    // A refresh token is single-use.
    const replay = await bp.request('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
    expect(replay.status).toBe(401);

    // The WebSocket: refused with the seed's 401 before the upgrade; accepted with the user's token.
    const refused = new WebSocket(`${bp.url.replace('http', 'ws')}/api/ws`, { headers: { authorization: `Bearer ${forged}` } });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      refused.once('open', () => reject(new Error('the upgrade was accepted')));
    });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'Unauthorized', code: 'UNAUTHENTICATED' });
    const accepted = openEvents(bp.url, { authorization: `Bearer ${next.token}` });
    await accepted.opened;
    accepted.ws.close();
  });
});

describe('llamactl /api rate limits (no llama-server needed)', () => {
  let bp: TestDaemon;

  beforeAll(async () => {
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin],
      config: {
        rest: { profiles: { llamactl: { rateLimits: { default: { limit: 3, windowSeconds: 60 }, heavy: { limit: 1, windowSeconds: 600 } } } } },
        plugins: { 'llama-cpp': { llamaServerPath: '/nonexistent/llama-server' } },
      },
    });
  });
  afterAll(() => bp?.stop());

  test('100 a minute by default, 10 for heavy operations, configurable: X-RateLimit-* headers, then 429 in the seed format', async () => {
    for (const remaining of [2, 1, 0]) {
      const ok = await bp.request('/api/instances');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit')).toBe('3');
      expect(ok.headers.get('x-ratelimit-remaining')).toBe(String(remaining));
      expect(Number(ok.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    }
    const limited = await bp.request('/api/instances');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await limited.json()).toEqual({ error: 'Too Many Requests', code: 'RATE_LIMITED', details: expect.stringMatching(/^Too many requests: at most 3 per 60 s/) });

    // Heavy operations (start, restart, start-all, stop-all, login) have their own bucket.
    const first = await bp.request('/api/instances/start-all', { method: 'POST' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('1');
    const second = await bp.request('/api/instances/start-all', { method: 'POST' });
    expect(second.status).toBe(429);
    // Health checks are never limited.
    const health = await bp.request('/api/instances/x/health');
    expect(health.status).toBe(404);
    expect(health.headers.get('x-ratelimit-limit')).toBeNull();
    // The WebSocket upgrade takes from the default bucket, which is empty: refused before the upgrade.
    const ws = new WebSocket(`${bp.url.replace('http', 'ws')}/api/ws`);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
  });
});
