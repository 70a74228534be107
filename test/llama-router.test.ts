import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const llamaServer = await locateLlamaServer();

const keys = { ops: 'o'.repeat(32), chat: 'c'.repeat(32), viewer: 'v'.repeat(32) };
const as = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });
const json = { 'content-type': 'application/json' };

/** `llamacpp:<name>` from llama-server's own /metrics. */
async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`llamacpp:${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe.skipIf(llamaServer.skip !== undefined)(`the OpenAI router on /v1${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  const gql = (query: string, variables?: Record<string, unknown>) => bp.gql(query, variables, { apiKey: keys.ops });
  const llama = () => llamaClient(gql);
  const post = (path: string, body: unknown, key = keys.chat) => bp.request(path, { method: 'POST', headers: as(key, json), body: JSON.stringify(body) });

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin],
      config: {
        auth: {
          keys: [
            { name: 'ops', key: keys.ops, scopes: ['operate'] },
            { name: 'chat', key: keys.chat, scopes: ['inference'] },
            { name: 'viewer', key: keys.viewer, scopes: ['read'] },
          ],
        },
        plugins: { 'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 200, defaults: { ctxSize: 512, threads: 1 } } },
      },
    });
    expect((await llama().create({ name: 'tiny', modelPath: models.model, port: await freePort(), options: { ctxSize: 8192, aliases: ['org/tiny:q8'] } })).errors).toBeUndefined();
    expect((await llama().mutate('startLlamaInstance', 'tiny')).errors).toBeUndefined();
    await llama().untilStatus('tiny', 'running');
  }, 180_000);
  afterAll(async () => {
    await gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('a chat completion by alias goes to the instance, counted in flight while it runs', async () => {
    const response = await post('/v1/chat/completions', { model: 'org/tiny:q8', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, ignore_eos: true, temperature: 0 });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 4 } });
    expect(body.choices[0].message.role).toBe('assistant');
    const after = await llama().instance('tiny');
    expect(after.inFlight).toBe(0);
    expect((await gql('{ llamaInstance(name: "tiny") { lastRequestAt } }')).data.llamaInstance.lastRequestAt).not.toBeNull();

    const completion = await post('/v1/completions', { model: 'tiny', prompt: 'Hi', max_tokens: 3, temperature: 0 });
    expect(completion.status).toBe(200);
    expect((await completion.json()).usage.completion_tokens).toBe(3);
  });

  test('a streamed completion arrives as server-sent events, chunk by chunk', async () => {
    const response = await post('/v1/chat/completions', { model: 'tiny', stream: true, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3000, ignore_eos: true, temperature: 0 });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const chunks: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value, { stream: true }));
    }
    // About 700 KB of events: more than one read can hold, so the first one came before the end.
    expect(chunks[0]).toMatch(/^data: \{/);
    expect(chunks[0]).not.toContain('[DONE]');
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toContain('data: [DONE]');
  });

  test('a client that goes away mid-stream stops the generation upstream', async () => {
    const baseUrl = (await llama().instance('tiny')).baseUrl;
    const before = await metric(baseUrl, 'tokens_predicted_total');
    const controller = new AbortController();
    const response = await bp.request('/v1/completions', {
      method: 'POST',
      headers: as(keys.chat, json),
      body: JSON.stringify({ model: 'tiny', prompt: 'Once', stream: true, max_tokens: 8000, ignore_eos: true, temperature: 0 }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: /);
    controller.abort();
    await waitFor(async () => ((await metric(baseUrl, 'requests_processing')) === 0 && (await llama().instance('tiny')).inFlight === 0 ? true : undefined), { timeoutMs: 20_000 });
    // llama-server stopped long before the 8000 tokens asked for.
    expect((await metric(baseUrl, 'tokens_predicted_total')) - before).toBeLessThan(8000);
  });

  test('GET /v1/models lists every instance with its status', async () => {
    expect((await llama().create({ name: 'idle', modelPath: models.model, port: await freePort() })).errors).toBeUndefined();
    const response = await bp.request('/v1/models', { headers: as(keys.chat) });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.object).toBe('list');
    expect(body.data).toEqual(
      expect.arrayContaining([
        { id: 'tiny', object: 'model', created: expect.any(Number), owned_by: 'backplane', status: 'running', aliases: ['org/tiny:q8'] },
        { id: 'idle', object: 'model', created: expect.any(Number), owned_by: 'backplane', status: 'stopped', aliases: [] },
      ]),
    );
  });

  test('unknown model, missing model, an instance that is not running: OpenAI-style errors', async () => {
    const unknown = await post('/v1/chat/completions', { model: 'nope', messages: [] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { message: "The model 'nope' does not exist", type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });

    const missing = await post('/v1/completions', { prompt: 'x' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: { message: 'you must provide a model parameter', type: 'invalid_request_error', param: 'model', code: null } });

    const broken = await bp.request('/v1/completions', { method: 'POST', headers: as(keys.chat, json), body: '{"model":' });
    expect(broken.status).toBe(400);
    expect((await broken.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });

    await llama().create({ name: 'idle', modelPath: models.model, port: await freePort() });
    const stopped = await post('/v1/completions', { model: 'idle', prompt: 'x' });
    expect(stopped.status).toBe(503);
    expect(await stopped.json()).toEqual({ error: { message: "Instance 'idle' is not running (status stopped)", type: 'server_error', param: null, code: 'model_not_running' } });
  });

  test('an on-demand instance is started by the first request, which waits for it', async () => {
    expect((await llama().create({ name: 'lazy', modelPath: models.model, port: await freePort(), options: { onDemandStart: true } })).errors).toBeUndefined();
    const response = await post('/v1/completions', { model: 'lazy', prompt: 'Hi', max_tokens: 2, temperature: 0 });
    expect(response.status).toBe(200);
    expect((await response.json()).usage.completion_tokens).toBe(2);
    expect((await llama().instance('lazy')).status).toBe('running');
    await llama().mutate('stopLlamaInstance', 'lazy', ', force: true');
  });

  test('an on-demand start that fails is a 503 and leaves the instance stopped or failed', async () => {
    const port = await freePort();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      expect((await llama().create({ name: 'blocked', modelPath: models.model, port, options: { onDemandStart: true } })).errors).toBeUndefined();
      const response = await post('/v1/completions', { model: 'blocked', prompt: 'Hi' });
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body.error).toMatchObject({ type: 'server_error', param: null, code: 'model_start_failed' });
      expect(body.error.message).toContain(`${port}`);
      expect(['stopped', 'failed']).toContain((await llama().instance('blocked')).status);
    } finally {
      squatter.close();
    }
  });

  test('the inference scope: keys with it chat, read-only keys and strangers are refused in the OpenAI format', async () => {
    const noKey = await bp.request('/v1/models');
    expect(noKey.status).toBe(401);
    expect((await noKey.json()).error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key', param: null });

    const viewer = await post('/v1/completions', { model: 'tiny', prompt: 'x' }, keys.viewer);
    expect(viewer.status).toBe(403);
    expect((await viewer.json()).error).toMatchObject({ type: 'permission_error' });

    // An inference key runs the router, not the management API.
    const manage = await bp.gql('{ llamaInstances { edges { node { name } } } }', undefined, { apiKey: keys.chat });
    expect(manage.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const ops = await post('/v1/completions', { model: 'tiny', prompt: 'x', max_tokens: 1 }, keys.ops);
    expect(ops.status).toBe(200);
  });
});
