import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, type EndpointRegistry } from '../core/plugin-api.ts';
import { tritonPlugin } from '../plugins/triton/index.ts';
import { FakeTriton, writeFakeModel, type FakeTritonOptions } from './helpers/fake-triton.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

let d: TestDaemon;
let tmp: string;
let endpoints: EndpointRegistry | undefined;
const fakes: Record<string, FakeTriton> = {};

/** Reads every plugin's endpoints, as the gateway would. */
const endpointProbe = definePlugin({
  id: 'endpoint-probe',
  version: '1.0.0',
  init(services) {
    endpoints = services.endpoints;
    return {};
  },
});

async function serve(id: string, options: Partial<FakeTritonOptions> = {}): Promise<FakeTriton> {
  const repository = path.join(tmp, `repo-${id}`);
  await mkdir(repository, { recursive: true });
  const f = await new FakeTriton({ repository, ...options }).start();
  fakes[id] = f;
  const reg = await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { id, host: '127.0.0.1', httpPort: f.port, metricsPort: f.metricsPort } });
  expect(reg.errors).toBeUndefined();
  return f;
}

const gqlOk = async (query: string, variables?: Record<string, unknown>) => {
  const res = await d.gql(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data;
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-triton-models-'));
  d = await startTestDaemon({ plugins: [tritonPlugin, endpointProbe], config: { plugins: { triton: { probeIntervalMs: 3_600_000, requestTimeoutMs: 1_500 } } } });
  for (const id of ['a', 'b']) {
    const repository = path.join(tmp, `repo-${id}`);
    await writeFakeModel(repository, 'resnet', { versions: ['1', '2'] });
    await writeFakeModel(repository, 'bert', { versions: ['1'], policyAll: true });
  }
  await writeFakeModel(path.join(tmp, 'repo-a'), 'broken', { versions: ['1'] });
  await writeFile(path.join(tmp, 'repo-a', 'broken', '1', 'FAIL'), '');
  await serve('a');
  await serve('b', { errorStyle: 'legacy' });
});
afterAll(async () => {
  await d?.stop();
  for (const f of Object.values(fakes)) await f.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('Triton models on one server', () => {
  it('lists the repository index with never-loaded models as name-only entries', async () => {
    const data = await gqlOk(`{ tritonServer(id: "a") { models { id name ready versions { name version state reason } } } }`);
    expect(data.tritonServer.models).toEqual([
      { id: 'bert', name: 'bert', ready: false, versions: [{ name: 'bert', version: null, state: null, reason: null }] },
      { id: 'broken', name: 'broken', ready: false, versions: [{ name: 'broken', version: null, state: null, reason: null }] },
      { id: 'resnet', name: 'resnet', ready: false, versions: [{ name: 'resnet', version: null, state: null, reason: null }] },
    ]);
    expect((await gqlOk(`{ tritonServer(id: "a") { models(ready: true) { name } } }`)).tritonServer.models).toEqual([]);
    const one = await gqlOk(`{ tritonServer(id: "a") { model(name: "bert") { name serverId } none: model(name: "nope") { name } cachedModels createdAt updatedAt } }`);
    expect(one.tritonServer).toMatchObject({ model: { name: 'bert', serverId: 'a' }, none: null, cachedModels: ['bert', 'broken', 'resnet'] });
    expect(one.tritonServer.createdAt).toMatch(/^\d{4}-/);
  });

  it('loads a model (latest version by default), then reads metadata, config and stats per version', async () => {
    const load = await gqlOk(`mutation { loadTritonModel(serverId: "a", name: "resnet") { ready versions { version state } } }`);
    expect(load.loadTritonModel).toEqual({ ready: true, versions: [{ version: '2', state: 'READY' }] });
    fakes.a!.infer('resnet', '2', 3);
    const m = await gqlOk(`{ tritonModel(serverId: "a", name: "resnet") { metadata config v2: metadata(version: "2") stats { version inferenceCount executionCount lastInference success { count ns } } } }`);
    expect(m.tritonModel.metadata).toMatchObject({ name: 'resnet', versions: ['2'], platform: 'onnxruntime_onnx' });
    expect(m.tritonModel.config).toMatchObject({ name: 'resnet', platform: 'onnxruntime_onnx', max_batch_size: 8 });
    expect(m.tritonModel.stats).toHaveLength(1);
    expect(m.tritonModel.stats[0]).toMatchObject({ version: '2', inferenceCount: 3, executionCount: 3, success: { count: 3, ns: 3000 } });
    expect(m.tritonModel.stats[0].lastInference).toMatch(/^\d{4}-/);
    const v1 = await d.gql(`{ tritonModel(serverId: "a", name: "resnet") { metadata(version: "1") } }`);
    expect(v1.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(v1.errors?.[0]?.message).toBe(`Triton server 'a' (127.0.0.1:${fakes.a!.port}): Request for unknown model: 'resnet' version 1 is not found`);
    const metrics = await gqlOk(`{ tritonServer(id: "a") { metrics { models { model version inferenceCount } } } }`);
    expect(metrics.tritonServer.metrics.models).toEqual([{ model: 'resnet', version: '2', inferenceCount: 3 }]);
  });

  it('loads every version under an "all" policy; a failing version is UNAVAILABLE with its reason', async () => {
    const bert = await gqlOk(`mutation { loadTritonModel(serverId: "a", name: "bert") { versions { version state } } }`);
    expect(bert.loadTritonModel.versions).toEqual([{ version: '1', state: 'READY' }]);
    const broken = await d.gql(`mutation { loadTritonModel(serverId: "a", name: "broken") { versions { version state } } }`);
    expect(broken.errors?.[0]?.extensions?.code).toBe('BACKEND_ERROR');
    expect(broken.errors?.[0]?.message).toBe(`Triton server 'a' (127.0.0.1:${fakes.a!.port}): failed to load 'broken', no version is available`);
    const entry = await gqlOk(`{ tritonModel(serverId: "a", name: "broken") { versions { version state reason } } }`);
    expect(entry.tritonModel.versions).toEqual([{ version: '1', state: 'UNAVAILABLE', reason: "unable to load model 'broken' version 1: Internal: fake failure" }]);
    const health = await gqlOk(`mutation { probeTritonServer(id: "a") { health { state } } }`);
    expect(health.probeTritonServer.health.state).toBe('NOT_READY');
  });

  it('sends config and file overrides on load, and unload_dependents on unload', async () => {
    const config = JSON.stringify({ name: 'resnet', backend: 'onnxruntime', version_policy: { all: {} } });
    const res = await gqlOk(`mutation($c: String, $f: [TritonFileOverrideInput!]) { loadTritonModel(serverId: "a", name: "resnet", config: $c, files: $f) { versions { version state } } }`, {
      c: config,
      f: [{ path: '3/model.onnx', base64: Buffer.from('new weights').toString('base64') }],
    });
    expect(fakes.a!.loadBodies.get('resnet')).toEqual({ parameters: { config, 'file:3/model.onnx': Buffer.from('new weights').toString('base64') } });
    expect(res.loadTritonModel.versions).toEqual([
      { version: '2', state: 'UNAVAILABLE' },
      { version: '3', state: 'READY' },
    ]);
    const noConfig = await d.gql(`mutation { loadTritonModel(serverId: "a", name: "resnet", files: [{ path: "1/model.onnx", base64: "eA==" }]) { name } }`);
    expect(noConfig.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badPath = await d.gql(`mutation { loadTritonModel(serverId: "a", name: "resnet", config: "{}", files: [{ path: "../x", base64: "eA==" }]) { name } }`);
    expect(badPath.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unload = await gqlOk(`mutation { unloadTritonModel(serverId: "a", name: "resnet", unloadDependents: true) { ready versions { version state reason } } }`);
    expect(fakes.a!.requests.at(-2)).toBe('POST /v2/repository/models/resnet/unload');
    expect(unload.unloadTritonModel.ready).toBe(false);
    expect(unload.unloadTritonModel.versions.every((v: { state: string; reason: string }) => v.state === 'UNAVAILABLE' && v.reason === 'unloaded')).toBe(true);
    // Unloaded models are known but have no available versions: Triton's 404.
    const meta = await d.gql(`{ tritonModel(serverId: "a", name: "resnet") { metadata } }`);
    expect(meta.errors?.[0]).toMatchObject({ message: expect.stringContaining("'resnet' has no available versions"), extensions: { code: 'NOT_FOUND' } });
  });

  it('understands pre-24.01 servers, which answer 400 for everything', async () => {
    const unknown = await d.gql(`{ tritonModel(serverId: "b", name: "resnet") { metadata } }`);
    expect(unknown.errors?.[0]).toMatchObject({ message: `Triton server 'b' (127.0.0.1:${fakes.b!.port}): Request for unknown model: 'resnet' is not found`, extensions: { code: 'NOT_FOUND' } });
    const stats = await d.gql(`{ tritonModel(serverId: "b", name: "resnet") { stats { version } } }`);
    expect(stats.errors?.[0]).toMatchObject({ message: expect.stringContaining("requested model 'resnet' is not available"), extensions: { code: 'BACKEND_ERROR' } });
    expect((await gqlOk(`{ tritonServer(id: "b") { metadata { version } } }`)).tritonServer.metadata.version).toBe('2.41.0');
  });

  it('NOT_FOUND for a model the repository does not have, an unknown server, bad names', async () => {
    expect((await d.gql(`{ tritonModel(serverId: "a", name: "nope") { name } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await d.gql(`{ tritonModel(serverId: "zz", name: "resnet") { name } }`)).errors?.[0]).toMatchObject({ message: "Triton server 'zz' is not registered", extensions: { code: 'NOT_FOUND' } });
    expect((await d.gql(`{ tritonModel(serverId: "a", name: "../etc") { name } }`)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('passes the 503 of a server in model-control mode none through, naming the server', async () => {
    const repo = path.join(tmp, 'repo-none');
    await writeFakeModel(repo, 'fixed');
    const f = await new FakeTriton({ repository: repo, mode: 'none', loadAtStart: ['fixed'] }).start();
    fakes.none = f;
    await gqlOk(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { id: 'none', host: '127.0.0.1', httpPort: f.port } });
    const res = await d.gql(`mutation { unloadTritonModel(serverId: "none", name: "fixed") { name } }`);
    expect(res.errors?.[0]).toMatchObject({ message: `Triton server 'none' (127.0.0.1:${f.port}): explicit model load / unload is not allowed if polling is enabled`, extensions: { code: 'UNAVAILABLE' } });
    await gqlOk(`mutation { removeTritonServer(id: "none") }`);
  });
});

describe('the fleet', () => {
  it('shows which model is ready on which servers, and loads one everywhere', async () => {
    const before = await gqlOk(`{ tritonFleet { models { name readyOn placements { serverId ready server { id } } } errors { serverId message } } }`);
    const bert = before.tritonFleet.models.find((m: { name: string }) => m.name === 'bert');
    expect(bert).toEqual({ name: 'bert', readyOn: ['a'], placements: [{ serverId: 'a', ready: true, server: { id: 'a' } }, { serverId: 'b', ready: false, server: { id: 'b' } }] });
    expect(before.tritonFleet.errors).toEqual([]);
    const outcome = await gqlOk(`mutation { loadTritonModelEverywhere(name: "bert") { serverId ok error } }`);
    expect(outcome.loadTritonModelEverywhere).toEqual([
      { serverId: 'a', ok: true, error: null },
      { serverId: 'b', ok: true, error: null },
    ]);
    const after = await gqlOk(`{ tritonFleet { models { name readyOn } } }`);
    expect(after.tritonFleet.models.find((m: { name: string }) => m.name === 'bert').readyOn).toEqual(['a', 'b']);
    expect((await d.gql(`mutation { loadTritonModelEverywhere(name: "ghost") { ok } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('publishes each (server, model) as a kserve-v2 endpoint with ready kept current', async () => {
    const list = () => endpoints!.list().filter((e) => e.plugin === 'triton');
    expect(list().find((e) => e.id === 'triton:b/bert')).toEqual({ id: 'triton:b/bert', plugin: 'triton', protocol: 'kserve-v2', server: 'b', model: 'bert', baseUrl: `http://127.0.0.1:${fakes.b!.port}`, ready: true });
    await gqlOk(`mutation { unloadTritonModel(serverId: "b", name: "bert") { name } }`);
    expect(endpoints!.get('triton:b/bert')?.ready).toBe(false);
  });

  it('reports a server that is down in the fleet errors and in a fleet load, naming it', async () => {
    const repo = path.join(tmp, 'repo-c');
    await writeFakeModel(repo, 'bert');
    const f = await serve('c', { repository: repo });
    await gqlOk(`mutation { loadTritonModel(serverId: "c", name: "bert") { name } }`);
    expect(endpoints!.get('triton:c/bert')?.ready).toBe(true);
    await f.stop();
    const fleet = await gqlOk(`{ tritonFleet { errors { serverId message } } }`);
    expect(fleet.tritonFleet.errors).toEqual([{ serverId: 'c', message: expect.stringMatching(/^Triton server 'c' \(127\.0\.0\.1:\d+\) is unreachable/) }]);
    const load = await d.gql(`mutation { loadTritonModel(serverId: "c", name: "bert") { name } }`);
    expect(load.errors?.[0]).toMatchObject({ message: expect.stringContaining("Triton server 'c'"), extensions: { code: 'UNAVAILABLE' } });
    await gqlOk(`mutation { probeTritonServer(id: "c") { id } }`);
    expect(endpoints!.get('triton:c/bert')?.ready).toBe(false);
    await gqlOk(`mutation { removeTritonServer(id: "c") }`);
    expect(endpoints!.get('triton:c/bert')).toBeUndefined();
  });
});

describe('model state subscription', () => {
  it('sees LOADING then READY for a slow load, and UNAVAILABLE after unload', async () => {
    const repo = path.join(tmp, 'repo-slow');
    await writeFakeModel(repo, 'slow');
    await serve('slow', { repository: repo, loadDelayMs: 300 });
    const client = d.ws();
    const events: any[] = [];
    const stop = client.subscribe(
      { query: `subscription { tritonModelStateChanged(serverId: "slow", name: "slow") { serverId name version state reason } }` },
      { next: (m) => events.push(m.data?.tritonModelStateChanged), error: () => undefined, complete: () => undefined },
    );
    // The current entry comes first: once it is here, the subscription is live.
    await waitFor(() => (events.length >= 1 ? true : undefined));
    const load = gqlOk(`mutation { loadTritonModel(serverId: "slow", name: "slow") { ready } }`);
    // While Triton is loading, a probe sees the version LOADING.
    await waitFor(() => (fakes.slow!.models.get('slow')?.versions.get('1')?.state === 'LOADING' ? true : undefined));
    await gqlOk(`mutation { probeTritonServer(id: "slow") { id } }`);
    expect((await load).loadTritonModel.ready).toBe(true);
    await gqlOk(`mutation { unloadTritonModel(serverId: "slow", name: "slow") { ready } }`);
    await waitFor(() => (events.length >= 5 ? true : undefined));
    stop();
    expect(events).toEqual([
      { serverId: 'slow', name: 'slow', version: null, state: null, reason: null },
      { serverId: 'slow', name: 'slow', version: null, state: 'LOADING', reason: null },
      { serverId: 'slow', name: 'slow', version: '1', state: 'LOADING', reason: null },
      { serverId: 'slow', name: 'slow', version: '1', state: 'READY', reason: null },
      { serverId: 'slow', name: 'slow', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
  });
});
