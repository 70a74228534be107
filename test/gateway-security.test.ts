import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gatewayPlugin } from '../plugins/gateway/index.ts';
import { endpointTestPlugin } from './helpers/endpoint-test-plugin.ts';
import { startFakeInference, type FakeInference } from './helpers/fake-inference.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const adminKey = 'a'.repeat(32);

describe('gateway security: failed-attempt limits per address, its own listener', () => {
  let bp: TestDaemon;
  let backend: FakeInference;
  let key: string;
  const gql = <T = any>(query: string) => bp.gql<T>(query, {}, { apiKey: adminKey });

  beforeAll(async () => {
    backend = await startFakeInference({ models: ['tiny'] });
    bp = await startTestDaemon({
      plugins: [endpointTestPlugin, gatewayPlugin],
      config: {
        auth: { keys: [{ name: 'ops', key: adminKey, scopes: ['admin'] }], failedAttempts: { limit: 3, windowSeconds: 600 }, loginRateLimit: { limit: 100 } },
        plugins: {
          'endpoint-test': { endpoints: [{ id: 'endpoint-test:fake/tiny', protocol: 'openai', server: 'fake', model: 'tiny', baseUrl: backend.url }] },
          gateway: { listen: { port: 0 } },
        },
      },
    });
    for (const mutation of [
      'mutation { createUser(name: "erin", password: "erin-password", role: "consume") { name } }',
      'mutation { createGatewayApp(input: { name: "chat" }) { name } }',
      'mutation { addGatewayRoute(app: "chat", model: "tiny") { modelName } }',
      'mutation { addGatewayConsumer(app: "chat", user: "erin") { user } }',
    ]) {
      expect((await gql(mutation)).errors).toBeUndefined();
    }
    key = (await gql<{ createApiKey: { key: string } }>('mutation { createApiKey(user: "erin") { key } }')).data!.createApiKey.key;
  });
  afterAll(async () => {
    await bp?.stop();
    await backend?.close();
  });

  test('the gateway on its own listener serves the same apps', async () => {
    const url = (await gql<{ gatewayListenUrl: string }>('{ gatewayListenUrl }')).data!.gatewayListenUrl;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const answer = await fetch(`${url}/gateway/chat/tiny/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(answer.status).toBe(200);
    // Nothing else is served there.
    expect((await fetch(`${url}/graphql`, { method: 'POST' })).status).toBe(404);
  });

  test('after `failedAttempts.limit` bad keys an address is refused, even with a good key, and so are its logins', async () => {
    const call = (k: string) => bp.request('/gateway/chat/tiny/v1/models', { headers: { authorization: `Bearer ${k}` } });
    expect((await call(key)).status).toBe(200);
    for (const guess of ['bpk_AAAAAAAAAAAA_' + 'x'.repeat(43), 'not-a-key', key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')]) expect((await call(guess)).status).toBe(401);
    const refused = await call(key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const login = await bp.gql('mutation { login(name: "erin", password: "erin-password") { accessToken } }');
    expect(login.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('failed passwords count per address too', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [gatewayPlugin], config: { auth: { keys: [{ name: 'ops', key: adminKey, scopes: ['admin'] }], failedAttempts: { limit: 2, windowSeconds: 600 }, loginRateLimit: { limit: 100 } } } });
    expect((await bp.gql('mutation { createUser(name: "frank", password: "frank-password", role: "read") { name } }', {}, { apiKey: adminKey })).errors).toBeUndefined();
  });
  afterAll(() => bp?.stop());

  test('after the limit of wrong passwords even the right one is refused (429 RATE_LIMITED), unknown names counting alike', async () => {
    const login = (name: string, password: string) => bp.gql(`mutation { login(name: "${name}", password: "${password}") { accessToken } }`);
    const first = await login("frank", "frank-password");
    expect(first.errors).toBeUndefined();
    expect((await login('frank', 'wrong-password')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login('nobody', 'whatever-pass')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login('frank', 'frank-password')).errors?.[0].extensions?.code).toBe('RATE_LIMITED');
  });
});
