import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/wait-for.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { uploadTestPlugin } from './helpers/upload-test-plugin.ts';

let d: TestDaemon;
const staged = async () => readdir(path.join(d.dataDir, 'uploads'));

beforeAll(async () => {
  d = await startTestDaemon({ plugins: [uploadTestPlugin()] });
});
afterAll(async () => d?.stop());

function form(entries: [string, string | { name: string; text: string }][]) {
  const body = new FormData();
  for (const [field, value] of entries) {
    if (typeof value === 'string') body.append(field, value);
    else body.append(field, new Blob([value.text]), value.name);
  }
  return body;
}

describe('staged uploads on REST routes (body: multipart)', () => {
  it('streams files to disk, hands the operation an upload id, and leaves nothing staged', async () => {
    const res = await d.request('/api/upload-test', {
      method: 'POST',
      body: form([
        ['name', 'resnet'],
        ['file', { name: '1/model.onnx', text: 'weights' }],
        ['file', { name: 'config.pbtxt', text: 'platform: "onnxruntime_onnx"' }],
      ]),
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.fields).toEqual({ name: 'resnet' });
    expect(body.files).toEqual([
      { field: 'file', filename: '1/model.onnx', bytes: 7, text: 'weights' },
      { field: 'file', filename: 'config.pbtxt', bytes: 28, text: 'platform: "onnxruntime_onnx"' },
    ]);
    expect(body.total).toBe(35);
    expect(await staged()).toEqual([]);
  });

  it("answers over the route's limit with the profile's 413 and removes what was written", async () => {
    const res = await d.request('/api/upload-test-small', { method: 'POST', body: form([['file', { name: 'big.bin', text: 'x'.repeat(5000) }]]) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ message: expect.stringContaining('larger than 1000 bytes') });
    expect(await staged()).toEqual([]);
  });

  it('discards an upload the operation refused without claiming it', async () => {
    const res = await d.request('/api/upload-test', { method: 'POST', body: form([['refuse', 'yes'], ['file', { name: 'a.txt', text: 'abc' }]]) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'refused before claiming' });
    // The discard runs as the reply closes.
    await waitFor(async () => ((await staged()).length === 0 ? true : undefined));
  });

  it('refuses a body that is not multipart with the profile\'s invalid-body reply', async () => {
    const res = await d.request('/api/upload-test', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(await staged()).toEqual([]);
  });
});

describe('POST /uploads for GraphQL clients', () => {
  it('stages a body whose id a mutation claims once', async () => {
    const res = await d.request('/uploads', { method: 'POST', body: form([['kind', 'csv'], ['file', { name: 'rows.csv', text: 'a,b\n1,2\n' }]]) });
    expect(res.status).toBe(201);
    const upload = await res.json();
    expect(upload).toMatchObject({ id: expect.stringMatching(/^up-[0-9a-f]{24}$/), fields: { kind: 'csv' }, files: [{ field: 'file', filename: 'rows.csv', bytes: 8 }] });
    expect(await staged()).toEqual([upload.id]);
    const first = await d.gql('mutation ($id: String!) { uploadTest(uploadId: $id) }', { id: upload.id });
    expect(first.errors).toBeUndefined();
    expect(first.data.uploadTest.files[0].text).toBe('a,b\n1,2\n');
    const again = await d.gql('mutation ($id: String!) { uploadTest(uploadId: $id) }', { id: upload.id });
    expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(await staged()).toEqual([]);
  });

  it('answers GET with 405', async () => {
    const res = await d.request('/uploads');
    expect(res.status).toBe(405);
  });
});

describe('model endpoints', () => {
  it('lists what plugins published, with the publisher filled in', async () => {
    const res = await d.gql('{ uploadTestEndpoints }');
    expect(res.data.uploadTestEndpoints).toEqual([{ id: 'upload-test:s1/m1', plugin: 'upload-test', protocol: 'openai', server: 's1', model: 'm1', baseUrl: 'http://127.0.0.1:1', ready: true }]);
  });
});
