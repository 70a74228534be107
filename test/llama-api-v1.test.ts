import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const llamaServer = await locateLlamaServer();
const key = 'm'.repeat(32);
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

describe.skipIf(llamaServer.skip !== undefined)(`llamactl's /api/v1 face${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let port: number;
  const call = (method: string, path: string, body?: unknown) => bp.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const llama = () => llamaClient((q, v) => bp.gql(q, v, { apiKey: key }));

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    port = await freePort();
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin],
      config: {
        auth: { keys: [{ name: 'mgmt', key, scopes: ['operate'] }] },
        plugins: { 'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 200, portRange: { from: 20100, to: 20199 }, defaults: { ctxSize: 512, threads: 1 } } },
      },
    });
  }, 180_000);
  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }', undefined, { apiKey: key }).catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('create answers 201 with llamactl’s instance JSON; a duplicate is 409, a bad name or flag 400', async () => {
    const created = await call('POST', '/api/v1/instances/tiny', {
      backend_type: 'llama_cpp',
      backend_options: { model: models.model, port, ctx_size: 512, threads: 1, alias: 'tiny-chat', seed: 7, no_warmup: true },
      auto_restart: true,
      max_restarts: 2,
      restart_delay: 5,
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      name: 'tiny',
      status: 'stopped',
      created: expect.any(Number),
      options: {
        backend_type: 'llama_cpp',
        backend_options: { model: models.model, host: '127.0.0.1', port, ctx_size: 512, gpu_layers: 0, parallel: 1, threads: 1, alias: 'tiny-chat', seed: 7, no_warmup: true },
        auto_restart: true,
        max_restarts: 2,
        on_demand_start: false,
        idle_timeout: 0,
      },
    });

    const duplicate = await call('POST', '/api/v1/instances/tiny', { backend_type: 'llama_cpp', backend_options: { model: models.model } });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({ error: 'create_failed', details: "Failed to create instance: Instance 'tiny' already exists" });

    const badName = await call('POST', '/api/v1/instances/bad.name', { backend_options: { model: models.model } });
    expect(badName.status).toBe(400);
    expect((await badName.json()).error).toBe('invalid_instance_name');

    const badFlag = await call('POST', '/api/v1/instances/keyed', { backend_options: { model: models.model, api_key: 'secret' } });
    expect(badFlag.status).toBe(400);
    const flagBody = await badFlag.json();
    expect(flagBody.error).toBe('create_failed');
    expect(flagBody.details).toMatch(/^Failed to create instance: llama-server flag '--api-key' is not allowed/);

    const noModel = await call('POST', '/api/v1/instances/empty', { backend_type: 'llama_cpp' });
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toEqual({ error: 'invalid_request', details: 'Invalid request body: backend_options.model is required' });
    expect((await call('GET', '/api/v1/instances/keyed')).status).toBe(404);
  });

  test('list, get, not found', async () => {
    const list = await call('GET', '/api/v1/instances');
    expect(list.status).toBe(200);
    expect((await list.json()).map((i: { name: string }) => i.name)).toEqual(['tiny']);
    expect((await (await call('GET', '/api/v1/instances/tiny')).json()).options.backend_options.port).toBe(port);
    const missing = await call('GET', '/api/v1/instances/ghost');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not_found', details: 'instance not found' });
  });

  test('proxy of a stopped instance is instance_not_running; start, proxy passthrough, logs, update, delete rules', async () => {
    const notRunning = await call('GET', '/api/v1/instances/tiny/proxy/health');
    expect(notRunning.status).toBe(503);
    expect(await notRunning.json()).toEqual({ error: 'instance_not_running', details: 'Instance is not running' });

    const started = await call('POST', '/api/v1/instances/tiny/start');
    expect(started.status).toBe(200);
    // llamactl says running from the spawn on; backplane's own status is `starting` until healthy.
    expect((await started.json()).status).toBe('running');
    await llama().untilStatus('tiny', 'running');

    const health = await call('GET', '/api/v1/instances/tiny/proxy/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const completion = await call('POST', '/api/v1/instances/tiny/proxy/completion', { prompt: 'Hi', n_predict: 3, temperature: 0 });
    expect(completion.status).toBe(200);
    expect((await completion.json()).tokens_predicted).toBe(3);
    const props = await call('GET', '/llama-cpp/tiny/props');
    expect(props.status).toBe(200);
    expect((await props.json()).default_generation_settings).toBeDefined();

    const logs = await call('GET', '/api/v1/instances/tiny/logs?lines=3');
    expect(logs.status).toBe(200);
    expect(logs.headers.get('content-type')).toBe('text/plain');
    const text = await logs.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(3);
    expect((await (await call('GET', '/api/v1/instances/tiny/logs')).text()).split('\n').length).toBeGreaterThan(3);
    const badLines = await call('GET', '/api/v1/instances/tiny/logs?lines=many');
    expect(badLines.status).toBe(400);
    expect(await badLines.json()).toEqual({ error: 'invalid_parameter', details: 'Invalid lines parameter: strconv.Atoi: parsing "many": invalid syntax' });

    const deleteRunning = await call('DELETE', '/api/v1/instances/tiny');
    expect(deleteRunning.status).toBe(409);
    expect(await deleteRunning.json()).toEqual({ error: 'delete_failed', details: "Failed to delete instance: Instance 'tiny' is running: stop it before deleting it" });

    // llamactl's update restarts a running instance to apply the change.
    const updated = await call('PUT', '/api/v1/instances/tiny', { backend_options: { model: models.model, parallel: 2 } });
    expect(updated.status).toBe(200);
    expect((await updated.json()).options.backend_options.parallel).toBe(2);
    await llama().untilStatus('tiny', 'running');

    const stopped = await call('POST', '/api/v1/instances/tiny/stop');
    expect(stopped.status).toBe(200);
    expect((await stopped.json()).status).toBe('stopped');
    const deleted = await call('DELETE', '/api/v1/instances/tiny');
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await call('GET', '/api/v1/instances/tiny')).status).toBe(404);
    expect(await (await call('DELETE', '/api/v1/instances/tiny')).json()).toEqual({ error: 'not_found', details: 'instance not found' });
  });

  test('/llama-cpp/{name}/… starts an on-demand instance; unknown instances are invalid_instance', async () => {
    expect((await call('POST', '/api/v1/instances/lazy', { backend_options: { model: models.model }, on_demand_start: true })).status).toBe(201);
    const completion = await call('POST', '/llama-cpp/lazy/completion', { prompt: 'Hi', n_predict: 2, temperature: 0 });
    expect(completion.status).toBe(200);
    expect((await completion.json()).tokens_predicted).toBe(2);
    const ghost = await call('GET', '/llama-cpp/ghost/props');
    expect(ghost.status).toBe(400);
    expect(await ghost.json()).toEqual({ error: 'invalid_instance', details: "failed to get instance by name: The model 'ghost' does not exist" });
    await call('POST', '/api/v1/instances/lazy/stop');
  });

  test('version is plain text, config is sanitized JSON, auth failures use llamactl’s OpenAI-style body', async () => {
    const version = await call('GET', '/api/v1/version');
    expect(version.headers.get('content-type')).toBe('text/plain');
    expect(await version.text()).toMatch(/^Version: \d+\.\d+\.\d+.*\nCommit: unknown\nBuild Time: unknown\n$/);

    const config = await (await call('GET', '/api/v1/config')).json();
    expect(config.instances).toMatchObject({ port_range: [20100, 20199], default_max_restarts: 5, on_demand_start_timeout: 120 });
    expect(config.backends['llama-cpp'].command).toBe(llamaServer.path);

    const anonymous = await bp.request('/api/v1/instances');
    expect(anonymous.status).toBe(401);
    const body = await anonymous.json();
    expect(Object.keys(body.error).sort()).toEqual(['message', 'type']);
    expect(body.error.type).toBe('authentication_error');
  });
});
