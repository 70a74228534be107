import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gatewayPlugin } from '../plugins/gateway/index.ts';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const llamaServer = await locateLlamaServer();
const adminKey = 'a'.repeat(32);

describe.skipIf(llamaServer.skip !== undefined)(`a real llama-server instance published through the gateway${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let key: string;
  const gql = (query: string, variables?: Record<string, unknown>) => bp.gql(query, variables, { apiKey: adminKey });
  const endpoints = async () => (await gql('{ gatewayModelEndpoints { id protocol model ready baseUrl } }')).data.gatewayModelEndpoints as { id: string; ready: boolean }[];
  const chat = (body: unknown) => bp.request('/gateway/chat/tiny/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin, gatewayPlugin],
      config: {
        auth: { keys: [{ name: 'ops', key: adminKey, scopes: ['admin'] }] },
        plugins: { 'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 200, defaults: { ctxSize: 512, threads: 1 } } },
      },
    });
    expect((await llamaClient(gql).create({ name: 'tiny', modelPath: models.model, port: await freePort(), options: { ctxSize: 2048 } })).errors).toBeUndefined();
  }, 180_000);
  afterAll(async () => {
    await gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('the instance publishes its endpoint once running and withdraws it when it stops', async () => {
    expect(await endpoints()).toEqual([]);
    expect((await llamaClient(gql).mutate('startLlamaInstance', 'tiny')).errors).toBeUndefined();
    await llamaClient(gql).untilStatus('tiny', 'running');
    await waitFor(async () => ((await endpoints()).find((e) => e.id === 'llama-cpp:tiny/tiny')?.ready ? true : undefined));
    for (const mutation of [
      'mutation { createUser(name: "alice", password: "alice-password", role: "consume") { name } }',
      'mutation { createGatewayApp(input: { name: "chat" }) { name } }',
      'mutation { addGatewayRoute(app: "chat", model: "llama-cpp:tiny/tiny") { modelName paths } }',
      'mutation { addGatewayConsumer(app: "chat", user: "alice") { user } }',
    ]) {
      expect((await gql(mutation)).errors).toBeUndefined();
    }
    key = (await gql('mutation { createApiKey(user: "alice") { key } }')).data.createApiKey.key;
  }, 120_000);

  test('a consumer chats with the real model, JSON and streamed', async () => {
    const response = await chat({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, ignore_eos: true, temperature: 0 });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 4 } });

    const streamed = await chat({ model: 'tiny', stream: true, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 200, ignore_eos: true, temperature: 0 });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = streamed.body!.getReader();
    let text = '';
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += new TextDecoder().decode(value);
    }
    expect(reads).toBeGreaterThan(1);
    expect(text).toContain('data: [DONE]');
  }, 120_000);

  test('a stopped instance: its endpoint is withdrawn and the route answers 503 naming it', async () => {
    expect((await llamaClient(gql).mutate('stopLlamaInstance', 'tiny')).errors).toBeUndefined();
    await waitFor(async () => ((await endpoints()).length === 0 ? true : undefined));
    const response = await chat({ model: 'tiny', messages: [] });
    expect(response.status).toBe(503);
    expect((await response.json()).error.message).toMatch(/llama-cpp:tiny\/tiny/);
  }, 60_000);
});
