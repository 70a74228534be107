import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tritonPlugin } from '../plugins/triton/index.ts';
import { FakeTriton, writeFakeModel } from './helpers/fake-triton.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

let d: TestDaemon;
let tmp: string;
let roots: string;
let repoA: string;
let a: FakeTriton;
let b: FakeTriton;

function form(entries: [string, string | { name: string; text: string }][]) {
  const body = new FormData();
  for (const [field, value] of entries) {
    if (typeof value === 'string') body.append(field, value);
    else body.append(field, new Blob([value.text]), value.name);
  }
  return body;
}

async function call(method: string, url: string, body?: unknown) {
  const init: RequestInit = { method };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await d.request(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Everything in the repository folder and beside it (staging folders must not be left). */
async function leftovers() {
  return { repo: (await readdir(repoA)).sort(), beside: (await readdir(roots)).filter((n) => n.includes('staging')) };
}

const resnetFiles = (): [string, { name: string; text: string }][] => [
  ['files[]', { name: 'config.pbtxt', text: 'name: "resnet"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]\n' }],
  ['files[]', { name: '1/model.onnx', text: 'onnx bytes' }],
];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-triton-rest-'));
  roots = path.join(tmp, 'roots');
  repoA = path.join(roots, 'repo-a');
  await mkdir(repoA, { recursive: true });
  const repoB = path.join(tmp, 'repo-b');
  await writeFakeModel(repoB, 'bert');
  a = await new FakeTriton({ repository: repoA }).start();
  b = await new FakeTriton({ repository: repoB, errorStyle: 'legacy' }).start();
  d = await startTestDaemon({
    plugins: [tritonPlugin],
    config: { plugins: { triton: { repositoryRoots: [roots], probeIntervalMs: 3_600_000, requestTimeoutMs: 1_500, maxUploadBytes: 10_000 } } },
  });
});
afterAll(async () => {
  await d?.stop();
  await a?.stop();
  await b?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('mlserve /api/tritons', () => {
  it('creates, lists, gets, updates and deletes tritons in the documented shapes', async () => {
    expect(await call('POST', '/api/tritons', { ip: '127.0.0.1', port: String(a.port), path: repoA, gpus: 1 })).toEqual({ status: 200, body: { id: 't1' } });
    expect(await call('POST', '/api/tritons', { ip: '127.0.0.1', port: String(b.port) })).toEqual({ status: 200, body: { id: 't2' } });
    const list = await call('GET', '/api/tritons');
    expect(list).toEqual({
      status: 200,
      body: {
        tritons: [
          { id: 't1', ip: '127.0.0.1', port: String(a.port), gpus: 1, models: [], path: repoA },
          { id: 't2', ip: '127.0.0.1', port: String(b.port), gpus: 0, models: ['bert'], path: '' },
        ],
      },
    });
    expect(await call('GET', '/api/tritons/t2')).toEqual({ status: 200, body: { data: { id: 't2', ip: '127.0.0.1', port: String(b.port), gpus: 0, models: ['bert'], path: '' } } });
    expect(await call('PATCH', '/api/tritons/t2', { gpus: 2 })).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await call('GET', '/api/tritons/t2')).body.data.gpus).toBe(2);
  });

  it('answers unknown tritons, duplicates and bad bodies in the profile format', async () => {
    expect(await call('GET', '/api/tritons/nope')).toEqual({ status: 404, body: { message: "Triton server 'nope' is not registered" } });
    expect(await call('PATCH', '/api/tritons/nope', { gpus: 1 })).toEqual({ status: 404, body: { message: "Triton server 'nope' is not registered" } });
    expect(await call('DELETE', '/api/tritons/nope')).toEqual({ status: 404, body: { message: "Triton server 'nope' is not registered" } });
    const dup = await call('POST', '/api/tritons', { ip: '127.0.0.1', port: String(a.port) });
    expect(dup).toEqual({ status: 409, body: { message: `A Triton server at 127.0.0.1:${a.port} is already registered as 't1'` } });
    expect((await call('POST', '/api/tritons', { ip: '127.0.0.1', port: 'eighty' })).status).toBe(400);
    expect((await call('POST', '/api/tritons', { ip: '127.0.0.1' })).body).toEqual({ message: 'ip and port are required' });
    expect((await call('POST', '/api/tritons', { ip: '127.0.0.1', port: '9', admin: true })).body).toEqual({ message: 'Unknown field: admin' });
    expect((await call('POST', '/api/tritons', { ip: '127.0.0.1', port: '9', path: '/etc' })).status).toBe(400);
  });
});

describe('mlserve /api/models', () => {
  it('uploads a model into the local repository (multipart), atomically', async () => {
    const res = await call('POST', '/api/models', form([['name', 'resnet'], ['triton_id', 't1'], ...resnetFiles()]));
    expect(res).toEqual({ status: 200, body: { id: 'resnet' } });
    expect(await readFile(path.join(repoA, 'resnet', '1', 'model.onnx'), 'utf8')).toBe('onnx bytes');
    expect(await leftovers()).toEqual({ repo: ['resnet'], beside: [] });
    // Only one server has a local repository: triton_id may be left out.
    const again = await call('POST', '/api/models', form([['name', 'resnet'], ...resnetFiles()]));
    expect(again).toEqual({ status: 409, body: { message: `Model 'resnet' already exists in the repository ${repoA}` } });
  });

  it('refuses uploads that escape the folder, have a bad layout, an unknown platform or are too large, leaving nothing behind', async () => {
    const refuse = async (entries: [string, string | { name: string; text: string }][], status: number, message: RegExp) => {
      const res = await call('POST', '/api/models', form([['name', 'evil'], ...entries]));
      expect(res.status).toBe(status);
      expect(res.body.message).toMatch(message);
      expect(await leftovers()).toEqual({ repo: ['resnet'], beside: [] });
    };
    const config = ['files[]', { name: 'config.pbtxt', text: 'platform: "onnxruntime_onnx"' }] as [string, { name: string; text: string }];
    await refuse([config, ['files[]', { name: '../../escape.txt', text: 'x' }]], 400, /escapes the model folder/);
    await refuse([config, ['files[]', { name: '1/../../x', text: 'x' }]], 400, /escapes the model folder/);
    await refuse([config, ['files[]', { name: '/etc/passwd', text: 'x' }]], 400, /must be relative/);
    await refuse([config, ['files[]', { name: 'model.onnx', text: 'x' }]], 400, /not part of a Triton model layout/);
    await refuse([['files[]', { name: '1/model.onnx', text: 'x' }]], 400, /needs a config.pbtxt/);
    await refuse([['files[]', { name: 'config.pbtxt', text: 'platform: "caffe2_netdef"' }], ['files[]', { name: '1/m', text: 'x' }]], 400, /Unknown platform or backend 'caffe2_netdef'/);
    await refuse([['files[]', { name: 'config.pbtxt', text: 'name: "other"\nplatform: "onnxruntime_onnx"' }], ['files[]', { name: '1/m', text: 'x' }]], 400, /names the model 'other'/);
    await refuse([config, ['files[]', { name: '1/model.onnx', text: 'x'.repeat(20_000) }]], 413, /over the limit of 10000 bytes/);
    expect((await call('POST', '/api/models', form([['name', '../x'], config]))).status).toBe(400);
    expect((await call('POST', '/api/models', form([config]))).body).toEqual({ message: 'name is required' });
  });

  it('refuses to write through a model folder that is a symlink', async () => {
    await mkdir(path.join(tmp, 'outside'));
    await symlink(path.join(tmp, 'outside'), path.join(repoA, 'linked'));
    const res = await call('POST', '/api/models/linked/versions', form([['files[]', { name: '1/model.onnx', text: 'x' }]]));
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('is a symlink');
    expect(await readdir(path.join(tmp, 'outside'))).toEqual([]);
    await rm(path.join(repoA, 'linked'));
  });

  it('loads and unloads with triton_id, and gets Triton metadata keyed by "host:port"', async () => {
    expect(await call('POST', '/api/models/resnet/load', { triton_id: 't1' })).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await call('GET', '/api/models/resnet')).toEqual({
      status: 200,
      body: { config: { [`127.0.0.1:${a.port}`]: { name: 'resnet', versions: ['1'], platform: 'onnxruntime_onnx', inputs: [], outputs: [] } } },
    });
    expect(await call('GET', '/api/models/resnet?triton_id=t1')).toMatchObject({ status: 200, body: { config: { [`127.0.0.1:${a.port}`]: { name: 'resnet' } } } });
    const list = await call('GET', '/api/models');
    expect(list.body.models).toEqual([
      { id: 'bert', name: 'bert', path: '', versions: [], tritons: [{ ip: '127.0.0.1', port: String(b.port) }] },
      { id: 'resnet', name: 'resnet', path: `${repoA}/resnet`, versions: ['1'], tritons: [{ ip: '127.0.0.1', port: String(a.port) }] },
    ]);
    expect(await call('POST', '/api/models/resnet/load', {})).toEqual({ status: 400, body: { message: 'triton_id is required' } });
    expect(await call('POST', '/api/models/resnet/unload', { triton_id: 't1' })).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await call('GET', '/api/models/resnet')).toEqual({ status: 200, body: { config: {} } });
  });

  it('lists, creates and deletes versions', async () => {
    expect(await call('POST', '/api/models/resnet/versions', form([['files[]', { name: 'model.onnx', text: 'v2 bytes' }], ['offset', '0'], ['check', 'x']]))).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await readFile(path.join(repoA, 'resnet', '2', 'model.onnx'), 'utf8')).toBe('v2 bytes');
    expect(await call('PATCH', '/api/models/resnet', form([['Files[]', { name: '3/model.onnx', text: 'v3 bytes' }]]))).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await call('POST', '/api/models/resnet/versions', form([['files[]', { name: '3/model.onnx', text: 'again' }]]))).status).toBe(409);
    expect((await call('POST', '/api/models/resnet/versions', form([['files[]', { name: 'model.onnx', text: 'x' }], ['offset', '100']]))).status).toBe(400);
    await call('POST', '/api/models/resnet/load', { triton_id: 't1' });
    a.infer('resnet', '3', 2);
    const versions = await call('GET', '/api/models/resnet/versions');
    const v1 = { version: '1', inference_count: '0', execution_count: '0', last_inference: null, state: 'UNAVAILABLE', triton_id: 't1' };
    expect(versions.body.versions).toEqual([v1, { version: '3', inference_count: '2', execution_count: '2', last_inference: expect.stringMatching(/^\d{4}-/), state: 'READY', triton_id: 't1' }]);
    expect(await call('DELETE', '/api/models/resnet/versions?version=3')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await readdir(path.join(repoA, 'resnet'))).sort()).toEqual(['1', '2', 'config.pbtxt']);
    // The model was loaded: it is reloaded, so Triton now serves version 2.
    expect((await call('GET', '/api/models/resnet/versions')).body.versions).toEqual([
      v1,
      { version: '2', inference_count: '0', execution_count: '0', last_inference: null, state: 'READY', triton_id: 't1' },
      { version: '3', inference_count: '0', execution_count: '0', last_inference: null, state: 'UNAVAILABLE', triton_id: 't1' },
    ]);
    expect((await call('DELETE', '/api/models/resnet/versions?version=9')).status).toBe(404);
    expect((await call('DELETE', '/api/models/resnet/versions')).body).toEqual({ message: 'version is required (?version=N or {"version": "N"})' });
    expect(await leftovers()).toEqual({ repo: ['resnet'], beside: [] });
  });

  it('answers unknown models with 404 in the profile format, and a load on a down server names it', async () => {
    // The "Unload model" heading's `POST /api/models/${identity}` is not a route: its URL row is served.
    expect((await call('POST', '/api/models/resnet', { triton_id: 't1' })).status).toBe(405);
    expect(await call('GET', '/api/models/ghost')).toEqual({ status: 404, body: { message: "Model 'ghost' is not on any registered Triton server" } });
    expect((await call('GET', '/api/models/ghost/versions')).status).toBe(404);
    expect((await call('DELETE', '/api/models/ghost')).status).toBe(404);
    expect((await call('POST', '/api/models/resnet/load', { triton_id: 'zz' })).body).toEqual({ message: "Triton server 'zz' is not registered" });
    // Pre-24.01 server: "unknown model" comes as 400, still a 404 here.
    const legacy = await call('POST', '/api/models/ghost/load', { triton_id: 't2' });
    expect(legacy.status).toBe(502);
    expect(legacy.body.message).toContain("failed to load 'ghost', failed to poll from model repository");
    await b.stop();
    const down = await call('POST', '/api/models/bert/load', { triton_id: 't2' });
    expect(down.status).toBe(503);
    expect(down.body.message).toMatch(/^Triton server 't2' \(127\.0\.0\.1:\d+\) is unreachable/);
  });

  it('deletes a model (unloaded first, folder removed) and a triton', async () => {
    expect(await call('DELETE', '/api/models/resnet')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await leftovers()).toEqual({ repo: [], beside: [] });
    expect(a.requests).toContain('POST /v2/repository/models/resnet/unload');
    expect(await call('DELETE', '/api/tritons/t2')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await call('GET', '/api/tritons')).body.tritons.map((t: { id: string }) => t.id)).toEqual(['t1']);
  });
});
