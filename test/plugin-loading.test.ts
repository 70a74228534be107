import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../core/config/schema.ts';
import { resolvePlugins } from '../core/kernel/load-plugins.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const examplePath = path.resolve('examples/hello-plugin/src/index.ts');

describe('the example third-party plugin, loaded from its path', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ config: { plugins: { hello: { module: examplePath, greeting: 'Hi', heartbeatMs: 50 } } } });
  });
  afterAll(() => bp.stop());

  test('reports itself and answers its query with its config', async () => {
    const result = await bp.gql('{ plugins { id version status } hello(name: "Ada") }');
    expect(result.data).toEqual({ plugins: [{ id: 'hello', version: '1.2.0', status: 'ready' }], hello: 'Hi, Ada!' });
  });

  test('validates its arguments', async () => {
    const result = await bp.gql('{ hello(name: "") }');
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('runs a job through the job service', async () => {
    const id = (await bp.gql('mutation { helloEcho(text: "from a plugin") }')).data.helloEcho;
    expect(id).toMatch(/^h-\d+$/);
    const job = await waitFor(async () => {
      const j = (await bp.gql('query($id: ID!) { job(id: $id) { status plugin log(tail: 1) } }', { id })).data.job;
      return j.status === 'succeeded' ? j : undefined;
    });
    expect(job).toEqual({ status: 'succeeded', plugin: 'hello', log: 'from a plugin\n' });
  });

  test('streams its subscription over graphql-ws', async () => {
    const beats: number[] = [];
    for await (const event of bp.ws().iterate<{ helloHeartbeat: number }>({ query: 'subscription { helloHeartbeat }' })) {
      beats.push(event.data!.helloHeartbeat);
      if (beats.length === 2) break;
    }
    expect(beats[1]).toBe(beats[0] + 1);
  });

  test('serves its legacy route in the llamactl profile, with that profile errors', async () => {
    const ok = await bp.request('/api/hello/Grace');
    expect(await ok.json()).toEqual({ message: 'Hi, Grace!' });
    const missing = await bp.request('/api/nothing-here');
    // Several profiles share the main listener; ilab-ui (first) answers unknown paths.
    expect(missing.status).toBe(404);
    const wrong = await bp.request('/api/hello/Grace', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toEqual({ error: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED', details: 'allowed: GET' });
  });
});

// Loading by npm package name, from outside this checkout: test/plugin-out-of-tree.test.ts.
describe('loading problems are config errors with the exact path', () => {
  const resolve = (plugins: Record<string, unknown>) =>
    resolvePlugins({ config: configSchema.parse({ plugins }), builtins: [], baseDir: process.cwd() });

  test('unknown plugin id, missing module, id mismatch, bad plugin config', async () => {
    await expect(resolve({ nope: {} })).rejects.toThrow(/plugins\.nope: unknown plugin \(set plugins\.nope\.module/);
    await expect(resolve({ x: { module: './no/such/file.ts' } })).rejects.toThrow(/plugins\.x\.module: BP_ERR_PLUGIN_LOAD: cannot load/);
    await expect(resolve({ other: { module: examplePath } })).rejects.toThrow(/plugins\.other\.module: the module defines plugin 'hello', not 'other'/);
    await expect(resolve({ hello: { module: examplePath, heartbeatMs: -5, extra: 1 } })).rejects.toThrow(/plugins\.hello\.heartbeatMs: expected positive integer/);
  });

  test('a disabled plugin is not loaded', async () => {
    expect(await resolve({ hello: { module: examplePath, enabled: false } })).toEqual([]);
  });
});
