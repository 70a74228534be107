import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingPlugin } from '../plugins/training/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const api = '/training-manager/api/v1';

async function upload(bp: TestDaemon, filename: string, content: string, fields: Record<string, string> = { name: 'ds' }): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content]), filename);
  const response = await bp.request(`${api}/datasets/`, { method: 'POST', body: form });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

describe('training datasets (REST, multipart uploads)', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [trainingPlugin], config: { plugins: { training: { maxUploadBytes: 4096 } } } });
  });
  afterAll(async () => {
    await bp?.stop();
  });

  const leftovers = async () => ({
    staged: await readdir(path.join(bp.dataDir, 'uploads')).catch(() => []),
    stored: await readdir(path.join(bp.dataDir, 'plugins', 'training', 'datasets')),
  });

  it('stores a CSV with its row and column counts and columns as a JSON-encoded string', async () => {
    const { status, body } = await upload(bp, 'qa.csv', 'input,output\n"What is 2+2?","4"\n"multi\nline",ok\n', { name: 'Training Dataset', description: 'Sample training data' });
    expect(status).toBe(201);
    expect(body).toMatchObject({ name: 'Training Dataset', description: 'Sample training data', filename: 'qa.csv', file_type: 'csv', row_count: 2, column_count: 2, columns: '["input","output"]' });
    expect(typeof body.id).toBe('number');
    expect(body.file_size).toBe(Buffer.byteLength('input,output\n"What is 2+2?","4"\n"multi\nline",ok\n'));
    expect(body.file_path.startsWith(path.join(bp.dataDir, 'plugins', 'training', 'datasets'))).toBe(true);
  });

  it('stores a JSON array of objects, columns from the first object', async () => {
    const { status, body } = await upload(bp, 'a.json', JSON.stringify([{ text: 'hello', label: 1 }, { text: 'world', label: 2 }, { text: 'x' }], null, 2));
    expect(status).toBe(201);
    expect(body).toMatchObject({ file_type: 'json', row_count: 3, column_count: 2, columns: '["text","label"]' });
  });

  it('stores JSON Lines, skipping blank lines', async () => {
    const { status, body } = await upload(bp, 'b.jsonl', '{"instruction":"a","output":"b"}\n\n{"instruction":"c","output":"d"}\n');
    expect(status).toBe(201);
    expect(body).toMatchObject({ file_type: 'jsonl', row_count: 2, columns: '["instruction","output"]' });
  });

  it.each([
    ['bad.csv', 'a,b\n1,2\n3,4,5\n', /line 3: expected 2 columns/],
    ['bad.csv', 'a,,c\n1,2,3\n', /line 1: column 2 of the header has no name/],
    ['bad.csv', 'a,b\n"unterminated,2\n', /line \d+/],
    ['bad.json', '[{"a":1},\n{"a":2},\n 3]', /line 3: item 3 is not an object/],
    ['bad.json', '{"a":1}', /line 1: expected a JSON array of objects/],
    ['bad.json', '[{"a":1},\n{"a": nope}]', /line 2: item 2 is not valid JSON/],
    ['bad.json', '[{"a":1}', /not closed/],
    ['bad.jsonl', '{"a":1}\n{"a":\n', /line 2: not valid JSON/],
    ['bad.jsonl', '{"a":1}\n[1,2]\n', /line 2: expected a JSON object, got an array/],
    ['header-only.csv', 'a,b\n', /no data rows/],
    ['empty.json', '', /empty/],
  ])('refuses %s (%j) with 400 naming the line, and keeps nothing', async (name, content, detail) => {
    const { status, body } = await upload(bp, name, content);
    expect(status).toBe(400);
    expect(body.detail).toMatch(detail);
    const { staged, stored } = await leftovers();
    expect(staged).toEqual([]);
    expect(stored.length).toBe(3); // the three good files above
  });

  it('refuses other file types (400) and missing fields (422, FastAPI list shape)', async () => {
    expect((await upload(bp, 'notes.txt', 'hello')).body.detail).toMatch(/Invalid file type/);
    const form = new FormData();
    form.append('description', 'no file, no name');
    const response = await bp.request(`${api}/datasets/`, { method: 'POST', body: form });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ detail: [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required' }, { type: 'missing', loc: ['body', 'name'], msg: 'Field required' }] });
    // Nobody claimed the upload: core discards it as the request ends.
    await waitFor(async () => ((await leftovers()).staged.length === 0 ? true : undefined));
  });

  it('answers 413 above plugins.training.maxUploadBytes and keeps nothing', async () => {
    const { status, body } = await upload(bp, 'big.csv', `a,b\n${'1,2\n'.repeat(2000)}`);
    expect(status).toBe(413);
    expect(body.detail).toMatch(/too large/i);
    expect((await leftovers()).staged).toEqual([]);
  });

  it('lists with pagination, gets, patches and deletes', async () => {
    const list = await (await bp.request(`${api}/datasets/?page=1&page_size=2`)).json();
    expect(list).toMatchObject({ total: 3, page: 1, page_size: 2, pages: 2 });
    expect(list.items).toHaveLength(2);
    expect((await bp.request(`${api}/datasets/?page_size=101`)).status).toBe(422);
    // An explicit null is not an omitted argument (GraphQL applies defaults only to the latter): the default page still answers.
    const nulls = await bp.gql('{ trainingDatasets(page: null, pageSize: null) { page pageSize total } trainingJobs(page: null, pageSize: null) { pageSize } trainingProjects(pageSize: null) { pageSize } }');
    expect(nulls.errors).toBeUndefined();
    expect(nulls.data).toEqual({ trainingDatasets: { page: 1, pageSize: 10, total: 3 }, trainingJobs: { pageSize: 10 }, trainingProjects: { pageSize: 50 } });
    const id = list.items[0].id;
    expect((await (await bp.request(`${api}/datasets/${id}`)).json()).id).toBe(id);
    const patched = await bp.request(`${api}/datasets/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Updated Name', description: 'Updated description' }) });
    expect(await patched.json()).toMatchObject({ id, name: 'Updated Name', description: 'Updated description' });
    expect((await bp.request(`${api}/datasets/999`)).status).toBe(404);
    expect(await (await bp.request(`${api}/datasets/abc`)).json()).toMatchObject({ detail: [{ loc: ['path', 'id'] }] });
    const file = (await (await bp.request(`${api}/datasets/${id}`)).json()).file_path;
    const deleted = await bp.request(`${api}/datasets/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect((await bp.request(`${api}/datasets/${id}`)).status).toBe(404);
    expect((await leftovers()).stored).not.toContain(path.basename(file));
  });

  it('refuses to delete a dataset a pending job or a project uses (400)', async () => {
    const { body: ds } = await upload(bp, 'c.csv', 'text\nhello\n');
    const job = await bp.request(`${api}/jobs/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'j', dataset_id: ds.id }) });
    expect(job.status).toBe(201);
    // Lists and gets come aliased from GraphQL, creates are renamed: the same keys in the same order.
    const createdJob = await job.clone().json();
    const listed = (await (await bp.request(`${api}/jobs/`)).json()).items.find((j: { id: string }) => j.id === createdJob.id);
    expect(Object.keys(listed)).toEqual(Object.keys(createdJob));
    expect(Object.keys(await (await bp.request(`${api}/jobs/${createdJob.id}`)).json())).toEqual(Object.keys(createdJob));
    const listedDataset = (await (await bp.request(`${api}/datasets/`)).json()).items.find((d: { id: number }) => d.id === ds.id);
    expect(JSON.stringify(listedDataset)).toBe(JSON.stringify(ds));
    const refused = await bp.request(`${api}/datasets/${ds.id}`, { method: 'DELETE' });
    expect(refused.status).toBe(400);
    expect((await refused.json()).detail).toMatch(/used by training job job-/);
    await bp.request(`${api}/jobs/${(await job.json()).id}/cancel`, { method: 'POST' });
    const out = await mkdtemp(path.join(os.tmpdir(), 'bp-train-out-'));
    try {
      const { body: ds2 } = await upload(bp, 'd.csv', 'text\nhello\n');
      // outputRoots defaults to the plugin's data dir: a project's output dir must be inside it.
      const outputs = path.join(bp.dataDir, 'plugins', 'training', 'outputs');
      const project = await bp.request(`${api}/projects/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'p', base_model: 'tiny-lm', output_directory: outputs, traits: [{ trait_type: 'reasoning', datasets: [{ dataset_id: ds2.id, percentage: 100 }] }] }),
      });
      expect(project.status).toBe(201);
      const refused2 = await bp.request(`${api}/datasets/${ds2.id}`, { method: 'DELETE' });
      expect(refused2.status).toBe(400);
      expect((await refused2.json()).detail).toMatch(/used by project project-/);
      // Once the job has ended, its dataset may go.
      expect((await bp.request(`${api}/datasets/${ds.id}`, { method: 'DELETE' })).status).toBe(204);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('takes GraphQL uploads staged through POST /uploads', async () => {
    const form = new FormData();
    form.append('file', new Blob(['{"text":"a"}\n{"text":"b"}\n']), 'g.jsonl');
    const staged = await bp.request('/uploads', { method: 'POST', body: form });
    expect(staged.status).toBe(201);
    const { id } = (await staged.json()) as { id: string };
    const result = await bp.gql('mutation($id: String!) { createTrainingDataset(uploadId: $id, name: "via graphql") { id name rowCount fileType columnList } }', { id });
    expect(result.errors).toBeUndefined();
    expect(result.data.createTrainingDataset).toMatchObject({ name: 'via graphql', rowCount: 2, fileType: 'jsonl', columnList: ['text'] });
    const again = await bp.gql('mutation($id: String!) { createTrainingDataset(uploadId: $id) { id } }', { id });
    expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('streams a large JSON array without reading it whole (counts every item)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-train-json-'));
    try {
      const { inspectDataset } = await import('../plugins/training/dataset-rows.ts');
      const file = path.join(dir, 'big.json');
      const items = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `row ${i} with "quotes" and [brackets] {braces}`, n: i }));
      await writeFile(file, `[\n${items.join(',\n')}\n]`);
      expect(await inspectDataset(file, 'json')).toEqual({ row_count: 20_000, columns: ['text', 'n'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
