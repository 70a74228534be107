import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gatewayPlugin } from '../plugins/gateway/index.ts';
import { endpointTestPlugin, testEndpoints } from './helpers/endpoint-test-plugin.ts';
import { startFakeInference, type FakeInference } from './helpers/fake-inference.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const adminKey = 'a'.repeat(32);
const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

describe('the gateway, end to end: users, apps, routes, consumers and calls through it', () => {
  let bp: TestDaemon;
  let backend: FakeInference;
  const keys: Record<string, string> = {};

  const api = (method: string, path: string, body?: unknown) => bp.request(path, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
  const call = (path: string, key: string | undefined, body?: unknown, method = 'POST') =>
    bp.request(path, { method, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const newKey = async (user: string, extra = '') => {
    const result = await bp.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(`mutation { createApiKey(user: "${user}", label: "test"${extra}) { key apiKey { id user expiresAt } } }`, {}, { apiKey: adminKey });
    expect(result.errors).toBeUndefined();
    return result.data!.createApiKey;
  };

  beforeAll(async () => {
    backend = await startFakeInference({ models: ['tiny', 'resnet'] });
    bp = await startTestDaemon({
      plugins: [endpointTestPlugin, gatewayPlugin],
      config: {
        auth: { keys: [{ name: 'ops', key: adminKey, scopes: ['admin'] }], failedAttempts: { limit: 1000 } },
        plugins: {
          'endpoint-test': {
            endpoints: [
              { id: 'endpoint-test:fake/tiny', protocol: 'openai', server: 'fake', model: 'tiny', baseUrl: backend.url },
              { id: 'endpoint-test:fake/resnet', protocol: 'kserve-v2', server: 'fake', model: 'resnet', baseUrl: backend.url },
              { id: 'endpoint-test:gone/down', protocol: 'openai', server: 'gone', model: 'down', baseUrl: 'http://127.0.0.1:1' },
            ],
          },
        },
      },
    });
  });
  afterAll(async () => {
    await bp?.stop();
    await backend?.close();
  });

  test('users: create (status ok), duplicate 409, unknown role 400, never a password in answers', async () => {
    for (const [name, role, tags] of [['alice', 'consume', 'team-a'], ['bob', 'consume', 'team-b'], ['carol', 'read', '']]) {
      const created = await api('POST', '/api/users', { name, password: `${name}-password`, role, tags });
      expect(created.status).toBe(200);
      expect(await created.json()).toEqual({ status: 'ok' });
    }
    const duplicate = await api('POST', '/api/users', { name: 'alice', password: 'another-password', role: 'read' });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({ message: "A user or API key named 'alice' already exists" });
    const badRole = await api('POST', '/api/users', { name: 'dave', password: 'dave-password', role: 'superuser' });
    expect(badRole.status).toBe(400);
    expect((await badRole.json()).message).toMatch(/Unknown role 'superuser'/);

    const list = await (await api('GET', '/api/users')).json();
    expect(list.users).toEqual([
      { name: 'alice', role: 'consume', tags: 'team-a', apps: [] },
      { name: 'bob', role: 'consume', tags: 'team-b', apps: [] },
      { name: 'carol', role: 'read', tags: '', apps: [] },
    ]);
    expect(JSON.stringify(list)).not.toMatch(/password|scrypt/);
    expect(await (await api('GET', '/api/users/alice')).json()).toEqual({ name: 'alice', role: 'consume', tags: 'team-a', apps: [] });
    const missing = await api('GET', '/api/users/nobody');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "No user named 'nobody'" });

    expect((await api('PATCH', '/api/users/carol', { tags: 'ops', role: 'operate' })).status).toBe(200);
    expect(await (await api('GET', '/api/users/carol')).json()).toMatchObject({ role: 'operate', tags: 'ops' });
    expect((await api('PATCH', '/api/users/carol', { role: 'root' })).status).toBe(400);
    expect((await api('PATCH', '/api/users/nobody', { tags: 'x' })).status).toBe(404);

    keys.alice = (await newKey('alice')).key;
    keys.bob = (await newKey('bob')).key;
    expect(keys.alice).toMatch(/^bpk_[A-Za-z0-9]{12}_/);
  });

  test('a consume user may call nothing of backplane’s own API; an operate user logs in with its password', async () => {
    expect((await bp.gql('{ plugins { id } }', {}, { apiKey: keys.alice })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const login = await bp.gql<{ login: { accessToken: string; scopes: string[] } }>('mutation { login(name: "carol", password: "carol-password") { accessToken scopes } }');
    expect(login.data?.login.scopes).toEqual(['operate']);
    expect((await bp.gql('{ viewer { principal } }', {}, { apiKey: login.data!.login.accessToken })).data).toEqual({ viewer: { principal: 'carol' } });
    // Users and keys are admin business.
    expect((await bp.gql('{ users { name } }', {}, { apiKey: login.data!.login.accessToken })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await bp.gql('mutation { createApiKey(user: "carol") { key } }', {}, { apiKey: login.data!.login.accessToken })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const users = await bp.gql<{ users: { name: string; source: string; apiKeys: { id: string }[] }[] }>('{ users { name role source apiKeys { id label } } }', {}, { apiKey: adminKey });
    expect(users.data!.users.find((u) => u.name === 'alice')!.apiKeys).toHaveLength(1);
  });

  test('apps: create, duplicate 409, colliding prefix 400, unknown 404', async () => {
    const created = await api('POST', '/api/apps', { name: 'chat', host: '127.0.0.1', gpus: 1, retries: 2 });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ name: 'chat', host: '127.0.0.1', retries: 2, prefix: '/gateway/chat', routes: [], consumers: [] });
    expect((await api('POST', '/api/apps', { name: 'vision', retries: '1' })).status).toBe(200);
    expect((await api('POST', '/api/apps', { name: 'other' })).status).toBe(200);
    expect((await api('POST', '/api/apps', { name: 'limited', rate_limit: 2, rate_window_seconds: 3600 })).status).toBe(200);
    expect((await api('POST', '/api/apps', { name: 'flaky', retries: 3 })).status).toBe(200);

    const duplicate = await api('POST', '/api/apps', { name: 'chat' });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({ message: "An application named 'chat' already exists" });
    for (const prefix of ['/graphql', '/metrics', '/api/users', '/api', '/gateway/chat', '/jobs']) {
      const colliding = await api('POST', '/api/apps', { name: 'sneaky', prefix });
      expect(colliding.status, prefix).toBe(400);
      expect((await colliding.json()).message).toMatch(/collides/);
    }
    expect((await api('POST', '/api/apps', { name: 'bad name!' })).status).toBe(400);
    expect((await api('POST', '/api/apps', { name: 'x', retries: 'many' })).status).toBe(400);
    const unknown = await api('GET', '/api/apps/nope');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: "No application named 'nope'" });
    expect((await api('PATCH', '/api/apps/nope', { retries: 1 })).status).toBe(404);
    expect((await api('DELETE', '/api/apps/nope')).status).toBe(404);
  });

  test('routes: a served model is imported; one that is not served is a 400 naming it; unknown route 404', async () => {
    expect(await (await api('POST', '/api/apps/chat/routes/tiny')).json()).toEqual({ status: 'ok' });
    expect((await api('POST', '/api/apps/vision/routes/resnet')).status).toBe(200);
    expect((await api('POST', `/api/apps/other/routes/${encodeURIComponent('endpoint-test:fake/tiny')}`)).status).toBe(200);
    expect((await api('POST', '/api/apps/limited/routes/tiny')).status).toBe(200);
    expect((await api('POST', '/api/apps/flaky/routes/down')).status).toBe(200);
    const notServed = await api('POST', '/api/apps/chat/routes/llama-70b');
    expect(notServed.status).toBe(400);
    expect((await notServed.json()).message).toMatch(/Model 'llama-70b' is not served/);
    expect((await api('POST', '/api/apps/chat/routes/tiny')).status).toBe(409);
    expect((await api('POST', '/api/apps/nope/routes/tiny')).status).toBe(404);
    expect((await api('DELETE', '/api/apps/chat/routes/missing')).status).toBe(404);

    const routes = await (await api('GET', '/api/apps/chat/routes')).json();
    expect(routes.routes).toEqual([{ model_name: 'tiny', protocols: ['openai'], url: '/gateway/chat/tiny/v1/chat/completions', paths: ['/gateway/chat/tiny/v1'], endpoint: 'endpoint-test:fake/tiny', create_at: expect.any(String) }]);
  });

  test('consumers: auth/unauth a user on an app, the app-side routes, 404 for unknown ones', async () => {
    expect(await (await api('POST', '/api/users/alice/apps/chat/auth')).json()).toEqual({ status: 'ok' });
    expect((await api('POST', '/api/users/alice/apps/vision/auth')).status).toBe(200);
    expect((await api('POST', '/api/apps/limited/consumers/alice')).status).toBe(200);
    expect((await api('POST', '/api/apps/flaky/consumers/alice')).status).toBe(200);
    expect((await api('POST', '/api/apps/other/consumers/bob')).status).toBe(200);
    expect((await api('POST', '/api/users/alice/apps/chat/auth')).status).toBe(409);
    expect((await api('POST', '/api/users/nobody/apps/chat/auth')).status).toBe(404);
    expect((await api('POST', '/api/users/alice/apps/nope/auth')).status).toBe(404);
    expect((await api('DELETE', '/api/apps/chat/consumers/bob')).status).toBe(404);
    expect((await api('POST', '/api/users/bob/apps/chat/unauth')).status).toBe(404);

    expect(await (await api('GET', '/api/users/alice/apps')).json()).toEqual({ apps: ['chat', 'vision', 'limited', 'flaky'] });
    const consumers = await (await api('GET', '/api/apps/chat/consumers')).json();
    expect(consumers).toEqual({ consumers: [{ name: 'alice', tags: 'team-a', cteate_at: expect.any(String), create_at: expect.any(String) }] });
    const app = await (await api('GET', '/api/apps/chat')).json();
    expect(app.consumers.map((c: { name: string }) => c.name)).toEqual(['alice']);
    expect((await (await api('GET', '/api/apps')).json()).apps.map((a: { name: string }) => a.name)).toEqual(['chat', 'vision', 'other', 'limited', 'flaky']);
  });

  test('an authorised consumer calls an OpenAI route and a KServe route; the credentials never reach the backend', async () => {
    const chat = await call('/gateway/chat/tiny/v1/chat/completions', keys.alice, { model: 'tiny', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(200);
    expect((await chat.json()).choices[0].message.content).toBe('hello');
    const models = await call('/gateway/chat/tiny/v1/models', keys.alice, undefined, 'GET');
    expect((await models.json()).data.map((m: { id: string }) => m.id)).toContain('tiny');
    const infer = await call('/gateway/vision/v2/models/resnet/infer', keys.alice, { inputs: [{ name: 'INPUT0', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });
    expect(infer.status).toBe(200);
    expect(await infer.json()).toMatchObject({ model_name: 'resnet', outputs: [{ name: 'OUTPUT0', data: [2, 4] }] });
    // A consumer's access token (login) works as its key does.
    const login = await bp.gql<{ login: { accessToken: string } }>('mutation { login(name: "alice", password: "alice-password") { accessToken } }');
    expect((await call('/gateway/chat/tiny/v1/models', login.data!.login.accessToken, undefined, 'GET')).status).toBe(200);
    // The X-API-Key and Kong's apikey header work as well.
    const viaHeader = await bp.request('/gateway/vision/v2/models/resnet/ready', { headers: { apikey: keys.alice } });
    expect(viaHeader.status).toBe(200);
  });

  test('streamed answers come through as server-sent events', async () => {
    const response = await call('/gateway/chat/tiny/v1/chat/completions', keys.alice, { model: 'tiny', stream: true, messages: [] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += decoder.decode(value, { stream: true });
    }
    expect(text.match(/^data: \{/gm)).toHaveLength(5);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(reads).toBeGreaterThan(1);
  });

  test('refusals: no key 401, a consumer of another app 403, unknown route 404, revoked and expired keys 401', async () => {
    const body = { model: 'tiny', messages: [] };
    const none = await call('/gateway/chat/tiny/v1/chat/completions', undefined, body);
    expect(none.status).toBe(401);
    expect((await none.json()).error.type).toBe('authentication_error');
    const forbidden = await call('/gateway/chat/tiny/v1/chat/completions', keys.bob, body);
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).error).toMatchObject({ message: "Forbidden: user 'bob' is not a consumer of application 'chat'", type: 'permission_error' });
    // bob may call his own app.
    expect((await call('/gateway/other/tiny/v1/chat/completions', keys.bob, body)).status).toBe(200);
    expect((await call('/gateway/chat/nothing/v1/chat/completions', keys.alice, body)).status).toBe(404);
    expect((await call('/gateway/nope/x', keys.alice, body)).status).toBe(404);
    // The daemon's admin key is not a consumer's key.
    expect((await call('/gateway/chat/tiny/v1/chat/completions', adminKey, body)).status).toBe(401);

    const spare = await newKey('alice');
    expect((await call('/gateway/chat/tiny/v1/chat/completions', spare.key, body)).status).toBe(200);
    const revoked = await bp.gql(`mutation { revokeApiKey(id: "${spare.apiKey.id}") { revokedAt } }`, {}, { apiKey: adminKey });
    expect(revoked.errors).toBeUndefined();
    const afterRevoke = await call('/gateway/chat/tiny/v1/chat/completions', spare.key, body);
    expect(afterRevoke.status).toBe(401);
    expect((await afterRevoke.json()).error.message).toMatch(/not valid/);

    const shortLived = await newKey('alice', ', expiresInSeconds: 1');
    await waitFor(async () => ((await call('/gateway/chat/tiny/v1/chat/completions', shortLived.key, body)).status === 401 ? true : undefined), { timeoutMs: 5000, intervalMs: 250 });
  });

  test('over the per-consumer rate limit: 429 with the X-RateLimit headers', async () => {
    const body = { model: 'tiny', messages: [] };
    const first = await call('/gateway/limited/tiny/v1/chat/completions', keys.alice, body);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect((await call('/gateway/limited/tiny/v1/chat/completions', keys.alice, body)).status).toBe(200);
    const third = await call('/gateway/limited/tiny/v1/chat/completions', keys.alice, body);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await third.json()).error.code).toBe('rate_limited');
  });

  test('backend down: retried, then a 502 whose body names the endpoint and the attempts', async () => {
    const down = await call('/gateway/flaky/down/v1/chat/completions', keys.alice, { model: 'down', messages: [] });
    expect(down.status).toBe(502);
    const error = (await down.json()).error;
    expect(error.message).toMatch(/model endpoint 'endpoint-test:gone\/down' of application 'flaky' did not answer after 4 attempts/);
    expect(error.message).toMatch(/ECONNREFUSED/);
    const metrics = await (await bp.request('/metrics', { headers: admin })).text();
    expect(metrics).toMatch(/backplane_gateway_retries_total\{app="flaky",route="down"\} 3/);
  });

  test('503 from the backend: a GET is retried, a POST that reached the backend is not', async () => {
    backend.failNext(2, 503);
    const before = backend.seen.length;
    const get = await call('/gateway/chat/tiny/v1/models', keys.alice, undefined, 'GET');
    expect(get.status).toBe(200);
    expect(backend.seen.length - before).toBe(3);

    backend.failNext(1, 503);
    const mark = backend.seen.length;
    const post = await call('/gateway/chat/tiny/v1/chat/completions', keys.alice, { model: 'tiny', messages: [] });
    expect(post.status).toBe(503);
    expect(backend.seen.length - mark).toBe(1);
  });

  test('an endpoint withdrawn by its plugin: 503 naming it, and back once it is published again', async () => {
    const registry = testEndpoints.registry!;
    registry.withdraw('endpoint-test:fake/resnet');
    const gone = await call('/gateway/vision/v2/models/resnet/infer', keys.alice, { inputs: [] });
    expect(gone.status).toBe(503);
    expect((await gone.json()).error).toMatch(/endpoint-test:fake\/resnet/);
    registry.publish({ id: 'endpoint-test:fake/resnet', protocol: 'kserve-v2', server: 'fake', model: 'resnet', baseUrl: backend.url, ready: true });
    expect((await call('/gateway/vision/v2/models/resnet/ready', keys.alice, undefined, 'GET')).status).toBe(200);
  });

  test('traffic per app, route and consumer in /metrics and GraphQL, and a live subscription', async () => {
    const metrics = await (await bp.request('/metrics', { headers: admin })).text();
    expect(metrics).toMatch(/backplane_gateway_requests_total\{app="chat",route="tiny",consumer="alice",status="200"\} \d+/);
    expect(metrics).toMatch(/backplane_gateway_requests_total\{app="chat",route="tiny",consumer="bob",status="403"\} 1/);
    expect(metrics).toMatch(/backplane_gateway_errors_total\{app="flaky",route="down",consumer="alice"\} 1/);
    expect(metrics).toMatch(/backplane_gateway_request_duration_seconds_count\{app="vision",route="resnet"\} \d+/);

    const traffic = await bp.gql<{ gatewayApp: { traffic: { requests: number; errors: number } } }>('{ gatewayApp(name: "flaky") { traffic { requests errors } } }', {}, { apiKey: adminKey });
    expect(traffic.data?.gatewayApp.traffic).toEqual({ requests: 1, errors: 1 });

    const client = bp.ws({ apiKey: adminKey });
    const events: { requests: number; requestsPerSecond: number }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const stop = client.subscribe<{ gatewayTrafficUpdated: { requests: number; requestsPerSecond: number } }>(
        { query: 'subscription { gatewayTrafficUpdated(app: "chat") { app requests requestsPerSecond } }' },
        {
          next: (value) => {
            events.push(value.data!.gatewayTrafficUpdated);
            if (events.some((e) => e.requestsPerSecond > 0)) {
              stop();
              resolve();
            }
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    // Keep traffic flowing until a one-second window has seen some.
    const pump = setInterval(() => void call('/gateway/chat/tiny/v1/models', keys.alice, undefined, 'GET'), 100);
    await done.finally(() => clearInterval(pump));
    expect(events.at(-1)!.requests).toBeGreaterThan(0);
  });

  test('renaming an app moves its default prefix, routes and consumers with it', async () => {
    const renamed = await api('PATCH', '/api/apps/limited', { name: 'limited2', retries: 1 });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ name: 'limited2', prefix: '/gateway/limited2', retries: 1, routes: [{ model_name: 'tiny' }], consumers: [{ name: 'alice' }] });
    expect((await api('GET', '/api/apps/limited')).status).toBe(404);
    expect((await call('/gateway/limited2/tiny/v1/models', keys.alice, undefined, 'GET')).status).toBe(200);
    expect((await call('/gateway/limited/tiny/v1/models', keys.alice, undefined, 'GET')).status).toBe(404);
    expect((await api('PATCH', '/api/apps/limited2', { name: 'chat' })).status).toBe(409);
  });

  test('deleting a user ends its consumers and keys; deleting an app ends its prefix', async () => {
    expect(await (await api('DELETE', '/api/users/bob')).json()).toEqual({ status: 'ok' });
    expect((await api('GET', '/api/users/bob')).status).toBe(404);
    expect((await call('/gateway/other/tiny/v1/chat/completions', keys.bob, { model: 'tiny', messages: [] })).status).toBe(401);
    await waitFor(async () => ((await (await api('GET', '/api/apps/other/consumers')).json()).consumers.length === 0 ? true : undefined));
    expect((await api('POST', '/api/users/alice/apps/chat/unauth')).status).toBe(200);
    expect((await call('/gateway/chat/tiny/v1/chat/completions', keys.alice, { model: 'tiny', messages: [] })).status).toBe(403);
    expect(await (await api('DELETE', '/api/apps/other')).json()).toEqual({ status: 'ok' });
    expect((await call('/gateway/other/tiny/v1/models', keys.alice, undefined, 'GET')).status).toBe(404);
  });
});
