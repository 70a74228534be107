import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const llamaServer = await locateLlamaServer();
const adminKey = 'config-admin-key-0123456789';
const operatorKey = 'config-operator-key-0123456789';

describe.skipIf(llamaServer.skip !== undefined)(`PUT /api/config: run-time settings, kept across restarts${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let dataDir: string;
  const config = () => ({
    auth: { keys: [{ name: 'admin', key: adminKey, scopes: ['admin' as const] }, { name: 'ops', key: operatorKey, scopes: ['operate' as const] }] },
    plugins: {
      // A probe interval so long that no scheduled probe happens during the test unless it is changed.
      'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 600_000, healthTimeoutMs: 500, stopTimeoutSeconds: 5, defaults: { ctxSize: 256, threads: 1 } },
    },
  });
  const put = (body: unknown, key = adminKey) =>
    bp.request('/api/config', { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = async () => (await bp.request('/api/config', { headers: { authorization: `Bearer ${adminKey}` } })).json();

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({ plugins: [llamaCppPlugin], config: config() });
    dataDir = bp.dataDir;
  }, 60_000);
  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }', undefined, { apiKey: adminKey }).catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
    // The restarted daemon was handed the data dir, so it leaves it behind.
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('a changed health interval reschedules the probes of a running instance', async () => {
    const llama = llamaClient((q, v) => bp.gql(q, v, { apiKey: adminKey }));
    expect((await llama.create({ name: 'tiny', modelPath: models.model, port: await freePort() })).errors).toBeUndefined();
    await llama.mutate('startLlamaInstance', 'tiny');
    const running = await llama.untilStatus('tiny', 'running');
    const settled = running.health.lastCheckAt;

    const answer = await put({ healthIntervalMs: 100 });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ healthIntervalMs: 100, healthTimeoutMs: 500, host: '127.0.0.1' });
    // Only the rescheduled task probes now (the early probes ended with `running`).
    const probed = await llama.until('tiny', (i) => i.health.lastCheckAt !== settled, 10_000);
    await llama.until('tiny', (i) => i.health.lastCheckAt !== probed.health.lastCheckAt, 10_000);
    expect((await get()).healthIntervalMs).toBe(100);
  }, 60_000);

  test('restart policy, group budgets and defaults change; null goes back to the config file; read-only and unknown keys are 400', async () => {
    const changed = await put({ restart: { maxRestarts: 2 }, groups: { small: { maxRunning: 1 } }, defaults: { parallel: 2 } });
    expect(changed.status).toBe(200);
    const body = await changed.json();
    expect(body.restart).toEqual({ initialDelayMs: 1_000, maxDelayMs: 60_000, maxRestarts: 2, resetAfterMs: 300_000 });
    expect(body.groups).toEqual({ small: { maxRunning: 1 } });
    expect(body.defaults).toMatchObject({ ctxSize: 256, threads: 1, parallel: 2 });
    // New instances take the changed defaults.
    const llama = llamaClient((q, v) => bp.gql(q, v, { apiKey: adminKey }));
    const created = await llama.create({ name: 'second', modelPath: models.model, port: await freePort() });
    expect(created.data.createLlamaInstance.options).toMatchObject({ parallel: 2, maxRestarts: 2 });

    const host = await put({ host: '0.0.0.0', healthIntervalMs: 50 });
    expect(host.status).toBe(400);
    const refused = await host.json();
    expect(refused).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(refused.details).toContain("'host' cannot be changed at run time");
    for (const [input, named] of [
      [{ modelRoots: ['/'] }, 'modelRoots'],
      [{ llamaServerPath: '/bin/sh' }, 'llamaServerPath'],
      [{ colour: 'red' }, 'colour'],
      [{ healthIntervalMs: -1 }, 'healthIntervalMs'],
      [{ restart: { maxRestarts: 'many' } }, 'restart.maxRestarts'],
    ] as const) {
      const answer = await put(input);
      expect(answer.status).toBe(400);
      expect((await answer.json()).details).toContain(named);
    }
    expect((await put('[1]')).status).toBe(400);
    // Nothing of the refused updates applied.
    expect(await get()).toMatchObject({ host: '127.0.0.1', healthIntervalMs: 100 });

    // Changing settings is an admin's business.
    expect((await put({ healthIntervalMs: 200 }, operatorKey)).status).toBe(403);

    const reset = await put({ groups: null });
    expect((await reset.json()).groups).toEqual({});
  });

  test('the overrides are kept in a 0600 file and apply again after a restart, over the config file', async () => {
    const file = path.join(dataDir, 'plugins', 'llama-cpp', 'runtime-config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await bp.gql('mutation { stopAllLlamaInstances(force: true) { name } }', undefined, { apiKey: adminKey });
    await bp.stop({ keepData: true });
    bp = await startTestDaemon({ plugins: [llamaCppPlugin], config: config(), dataDir });
    expect(await get()).toMatchObject({ healthIntervalMs: 100, healthTimeoutMs: 500, restart: { maxRestarts: 2 }, defaults: { parallel: 2 }, groups: {} });
  }, 60_000);
});
