import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tritonPlugin } from '../plugins/triton/index.ts';
import { FakeTriton } from './helpers/fake-triton.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const keys = { reader: 'r'.repeat(32), operator: 'o'.repeat(32), admin: 'a'.repeat(32) };
let d: TestDaemon;
let tmp: string;
let repo: string;
let f: FakeTriton;

async function stage(files: { name: string; text: string }[]): Promise<string> {
  const body = new FormData();
  for (const file of files) body.append('file', new Blob([file.text]), file.name);
  const res = await d.request('/uploads', { method: 'POST', body, headers: { authorization: `Bearer ${keys.operator}` } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-triton-up-'));
  repo = path.join(tmp, 'roots', 'repo');
  await mkdir(repo, { recursive: true });
  f = await new FakeTriton({ repository: repo }).start();
  d = await startTestDaemon({
    plugins: [tritonPlugin],
    config: {
      auth: { keys: [{ name: 'reader', key: keys.reader, scopes: ['read'] }, { name: 'operator', key: keys.operator, scopes: ['operate'] }, { name: 'admin', key: keys.admin, scopes: ['admin'] }] },
      plugins: { triton: { repositoryRoots: [path.join(tmp, 'roots')], probeIntervalMs: 3_600_000 } },
    },
  });
});
afterAll(async () => {
  await d?.stop();
  await f?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('Triton scopes', () => {
  it('reads with read, changes with operate, deletes with admin', async () => {
    const register = `mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`;
    const input = { i: { host: '127.0.0.1', httpPort: f.port, repositoryPath: repo } };
    expect((await d.gql(register, input, { apiKey: keys.reader })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await d.gql(register, input, { apiKey: keys.operator })).data.registerTritonServer.id).toBe('t1');
    expect((await d.gql(`{ tritonServers { id } }`, undefined, { apiKey: keys.reader })).data.tritonServers).toEqual([{ id: 't1' }]);
    expect((await d.gql(`mutation { removeTritonServer(id: "t1") }`, undefined, { apiKey: keys.operator })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await d.request('/api/tritons')).status).toBe(401);
    expect((await d.request('/api/tritons', { headers: { authorization: `Bearer ${keys.reader}` } })).status).toBe(200);
    const post = await d.request('/api/tritons', { method: 'POST', body: JSON.stringify({ ip: '127.0.0.1', port: '9' }), headers: { authorization: `Bearer ${keys.reader}`, 'content-type': 'application/json' } });
    expect(post.status).toBe(403);
  });
});

describe('uploads through GraphQL (POST /uploads, then the mutation)', () => {
  it('creates a model, a version, deletes the version and the model', async () => {
    const id = await stage([
      { name: 'config.pbtxt', text: 'platform: "onnxruntime_onnx"' },
      { name: 'mnist/1/model.onnx', text: 'v1' },
    ]);
    const up = await d.gql(`mutation($u: String!) { uploadTritonModel(name: "mnist", uploadId: $u, description: "digits") { id serverId name versions { version state } } }`, { u: id }, { apiKey: keys.operator });
    expect(up.errors).toBeUndefined();
    expect(up.data.uploadTritonModel).toEqual({ id: 'mnist', serverId: 't1', name: 'mnist', versions: [{ version: null, state: null }] });
    // An upload id is claimed once.
    expect((await d.gql(`mutation($u: String!) { uploadTritonModel(name: "mnist2", uploadId: $u) { id } }`, { u: id }, { apiKey: keys.operator })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const v = await d.gql(`mutation($u: String!) { createTritonModelVersion(serverId: "t1", name: "mnist", uploadId: $u) }`, { u: await stage([{ name: 'model.onnx', text: 'v2' }]) }, { apiKey: keys.operator });
    expect(v.data.createTritonModelVersion).toBe('2');
    expect((await readdir(path.join(repo, 'mnist'))).sort()).toEqual(['1', '2', 'config.pbtxt']);

    expect((await d.gql(`mutation { deleteTritonModelVersion(serverId: "t1", name: "mnist", version: "1") }`, undefined, { apiKey: keys.operator })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await d.gql(`mutation { deleteTritonModelVersion(serverId: "t1", name: "mnist", version: "1") }`, undefined, { apiKey: keys.admin })).data.deleteTritonModelVersion).toBe(true);
    expect((await d.gql(`mutation { deleteTritonModel(serverId: "t1", name: "mnist") }`, undefined, { apiKey: keys.admin })).data.deleteTritonModel).toBe(true);
    expect(await readdir(repo)).toEqual([]);
    expect((await d.gql(`mutation { deleteTritonModel(serverId: "t1", name: "mnist") }`, undefined, { apiKey: keys.admin })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await d.gql(`mutation { removeTritonServer(id: "t1") }`, undefined, { apiKey: keys.admin })).data.removeTritonServer).toBe(true);
  });
});
