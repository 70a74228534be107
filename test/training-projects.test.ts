import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingPlugin } from '../plugins/training/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const api = '/training-manager/api/v1';

/** A Hugging Face hub cache laid out as huggingface_hub writes it. */
async function fakeHfCache(root: string): Promise<void> {
  const snapshot = async (id: string, rev: string, files: Record<string, string>) => {
    const dir = path.join(root, `models--${id.replace('/', '--')}`, 'snapshots', rev);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
    await mkdir(path.join(root, `models--${id.replace('/', '--')}`, 'refs'), { recursive: true });
  };
  await snapshot('meta-llama/Llama-3.2-3B-Instruct', 'abc123', { 'config.json': '{"model_type":"llama"}', 'tokenizer.json': '{}' });
  await snapshot('microsoft/Phi-3-mini-4k-instruct', 'def456', { 'config.json': '{}', 'tokenizer_config.json': '{}' });
  await snapshot('org/no-tokenizer', 'r1', { 'config.json': '{}' });
  await snapshot('org/bad-config', 'r1', { 'config.json': '{not json', 'tokenizer.model': 'x' });
  await mkdir(path.join(root, 'datasets--org--some-data', 'snapshots', 'x'), { recursive: true });
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('training config, health, model cache, output dirs and projects', () => {
  let bp: TestDaemon;
  let tmp: string;
  let out: string;
  let ds: number[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-train-proj-'));
    await fakeHfCache(path.join(tmp, 'hub'));
    out = path.join(tmp, 'out');
    await mkdir(out);
    bp = await startTestDaemon({ plugins: [trainingPlugin], config: { plugins: { training: { hfCachePath: path.join(tmp, 'hub'), outputRoots: [tmp] } } } });
    for (let i = 0; i < 5; i++) {
      const form = new FormData();
      form.append('name', `ds${i}`);
      form.append('file', new Blob([`text\n${Array.from({ length: 10 }, (_, j) => `row ${i}-${j}`).join('\n')}\n`]), `d${i}.csv`);
      ds.push((await (await bp.request(`${api}/datasets/`, { method: 'POST', body: form })).json()).id);
    }
  });
  afterAll(async () => {
    await bp?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('serves health at /training-manager/api/v1/health and /training-manager/health, not at /api/v1/health', async () => {
    expect(await (await bp.request(`${api}/health`)).json()).toEqual({ status: 'healthy', version: '1.0.0', environment: 'production' });
    expect((await bp.request('/training-manager/health')).status).toBe(200);
    expect((await bp.request('/api/v1/health')).status).toBe(404);
  });

  it('reads and patches the config singleton with bounds (422)', async () => {
    const config = await (await bp.request(`${api}/config/`)).json();
    expect(config).toMatchObject({ id: 1, max_concurrent_workers: 4, active_workers: 0, default_training_type: 'qlora', default_batch_size: 4, default_learning_rate: 0.0002, default_epochs: 3, default_lora_r: 16, default_lora_alpha: 32, default_lora_dropout: 0.05, auto_start_workers: false });
    const patched = await bp.request(`${api}/config/`, { ...json({ max_concurrent_workers: 8, default_batch_size: 8 }), method: 'PATCH' });
    expect(await patched.json()).toMatchObject({ max_concurrent_workers: 8, default_batch_size: 8 });
    const bad = await bp.request(`${api}/config/`, { ...json({ default_batch_size: 65, default_epochs: 0, unknown: 1 }), method: 'PATCH' });
    expect(bad.status).toBe(422);
    const detail = (await bad.json()).detail;
    expect(detail.map((d: { loc: string[] }) => d.loc.join('.'))).toEqual(expect.arrayContaining(['body.default_batch_size', 'body.default_epochs']));
    // A job created now takes its unset hyperparameters from the config.
    const job = await (await bp.request(`${api}/jobs/`, json({ name: 'j', dataset_id: ds[0] }))).json();
    expect(job).toMatchObject({ batch_size: 8, epochs: 3, status: 'pending', training_type: 'qlora' });
    await bp.request(`${api}/jobs/${job.id}/cancel`, { method: 'POST' });
    await bp.request(`${api}/config/`, { ...json({ default_batch_size: 4 }), method: 'PATCH' });
  });

  it('validates job hyperparameters with the real bounds (422) and the model (400)', async () => {
    for (const [field, value] of [['batch_size', 65], ['epochs', 101], ['lora_r', 257], ['lora_alpha', 513], ['training_type', 'magic']] as const) {
      const response = await bp.request(`${api}/jobs/`, json({ name: 'j', dataset_id: ds[0], [field]: value }));
      expect(response.status).toBe(422);
      expect((await response.json()).detail[0].loc).toEqual(['body', field]);
    }
    const noModel = await bp.request(`${api}/jobs/`, json({ name: 'j', dataset_id: ds[0], model_name: 'org/not-cached' }));
    expect(noModel.status).toBe(400);
    expect((await noModel.json()).detail).toMatch(/Model not available/);
    expect((await bp.request(`${api}/jobs/`, json({ name: 'j', dataset_id: 999 }))).status).toBe(400);
  });

  it('lists cached models with a config and a tokenizer, tiny-lm first', async () => {
    expect(await (await bp.request(`${api}/projects/models/available`)).json()).toEqual(['tiny-lm', 'meta-llama/Llama-3.2-3B-Instruct', 'microsoft/Phi-3-mini-4k-instruct']);
  });

  it('validate-model answers 200 with the snapshot path or the reasons', async () => {
    const ok = await (await bp.request(`${api}/projects/validate-model`, json({ model_name: 'meta-llama/Llama-3.2-3B-Instruct' }))).json();
    expect(ok).toEqual({ available: true, model_name: 'meta-llama/Llama-3.2-3B-Instruct', path: path.join(tmp, 'hub', 'models--meta-llama--Llama-3.2-3B-Instruct', 'snapshots', 'abc123'), errors: [] });
    const alias = await (await bp.request(`${api}/projects/validate-model`, json({ model_name: 'llama3.2:3b' }))).json();
    expect(alias.available).toBe(true);
    for (const [name, reason] of [['org/no-tokenizer', /no tokenizer file/], ['org/bad-config', /config.json is not valid JSON/], ['org/missing', /not in the Hugging Face cache/], ['../../etc', /not a Hugging Face model id/]] as const) {
      const response = await bp.request(`${api}/projects/validate-model`, json({ model_name: name }));
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.available).toBe(false);
      expect(body.errors.join(' ')).toMatch(reason);
    }
  });

  it('validate-output-dir probes writability without creating anything', async () => {
    const ok = await bp.request(`${api}/projects/validate-output-dir`, json({ output_directory: out }));
    expect(await ok.json()).toEqual({ valid: true, writable: true, path: out, errors: [] });
    expect(await readdir(out)).toEqual([]);
    const missing = path.join(tmp, 'does-not-exist');
    const notThere = await bp.request(`${api}/projects/validate-output-dir`, json({ output_directory: missing }));
    expect(notThere.status).toBe(400);
    expect((await notThere.json()).detail).toMatch(/does not exist/);
    expect(await readdir(tmp)).not.toContain('does-not-exist');
    const outside = await bp.request(`${api}/projects/validate-output-dir`, json({ output_directory: '/etc' }));
    expect(outside.status).toBe(400);
    expect((await outside.json()).detail).toMatch(/outside the output roots/);
    const file = path.join(tmp, 'a-file');
    await writeFile(file, '');
    expect((await (await bp.request(`${api}/projects/validate-output-dir`, json({ output_directory: file }))).json()).detail).toMatch(/not a directory/);
    if (process.getuid?.() !== 0) {
      const ro = path.join(tmp, 'ro');
      await mkdir(ro);
      await chmod(ro, 0o555);
      expect((await (await bp.request(`${api}/projects/validate-output-dir`, json({ output_directory: ro }))).json()).detail).toMatch(/not writable/);
    }
  });

  const project = (traits: unknown, extra: Record<string, unknown> = {}) => bp.request(`${api}/projects/`, json({ name: 'P', base_model: 'tiny-lm', output_directory: out, traits, ...extra }));
  const alloc = (id: number, percentage: number) => ({ dataset_id: id, percentage });

  it.each([
    ['reasoning with two datasets', [{ trait_type: 'reasoning', datasets: [alloc(1, 50), alloc(2, 50)] }], /Reasoning trait requires exactly 1 dataset/],
    ['reasoning at 90 %', [{ trait_type: 'reasoning', datasets: [alloc(1, 90)] }], /Reasoning trait requires 100% allocation/],
    ['coding at 50 %', [{ trait_type: 'coding', datasets: [alloc(1, 50)] }], /Coding trait requires 100% allocation/],
    ['coding with none', [{ trait_type: 'coding', datasets: [] }], /at least one dataset/],
    ['general_tools summing to 90 %', [{ trait_type: 'general_tools', datasets: [alloc(1, 50), alloc(2, 40)] }], /must sum to 100%, got 90%/],
    ['general_tools summing to 110 %', [{ trait_type: 'general_tools', datasets: [alloc(1, 60), alloc(2, 50)] }], /must sum to 100%, got 110%/],
    ['a dataset twice across traits', [{ trait_type: 'reasoning', datasets: [alloc(1, 100)] }, { trait_type: 'general_tools', datasets: [alloc(1, 100)] }], /Dataset 1 is used twice/],
    ['a dataset twice in one trait', [{ trait_type: 'general_tools', datasets: [alloc(1, 50), alloc(1, 50)] }], /Dataset 1 is used twice/],
    ['a trait twice', [{ trait_type: 'coding', datasets: [alloc(1, 100)] }, { trait_type: 'coding', datasets: [alloc(2, 100)] }], /Trait 'coding' appears twice/],
    ['an unknown dataset', [{ trait_type: 'coding', datasets: [alloc(99, 100)] }], /Dataset 99 not found/],
    ['no traits', [], /at least one trait/],
    ['a 0 % allocation', [{ trait_type: 'general_tools', datasets: [alloc(1, 0), alloc(2, 100)] }], /more than 0/],
  ])('refuses a project with %s (400)', async (_name, traits, detail) => {
    const response = await project(traits);
    expect(response.status).toBe(400);
    expect((await response.json()).detail).toMatch(detail);
  });

  it('refuses a project whose output directory is not writable or missing (400)', async () => {
    const response = await project([{ trait_type: 'coding', datasets: [alloc(1, 100)] }], { output_directory: path.join(tmp, 'nope') });
    expect(response.status).toBe(400);
    expect((await response.json()).detail).toMatch(/does not exist/);
  });

  it('creates, lists, gets and patches a valid project (ids never collide with jobs)', async () => {
    const response = await project([
      { trait_type: 'reasoning', datasets: [alloc(ds[0], 100)] },
      { trait_type: 'coding', datasets: [alloc(ds[1], 100)] },
      { trait_type: 'general_tools', datasets: [alloc(ds[2], 50), alloc(ds[3], 30), alloc(ds[4], 20)] },
    ], { max_rows: 50000, description: 'Fine-tuning for reasoning tasks' });
    expect(response.status).toBe(201);
    const created = await response.json();
    expect(created).toMatchObject({ name: 'P', status: 'pending', progress: 0, base_model: 'tiny-lm', training_type: 'qlora', max_rows: 50000 });
    expect(created.id).toMatch(/^project-\d+$/);
    expect(created.traits.map((t: { trait_type: string }) => t.trait_type)).toEqual(['reasoning', 'coding', 'general_tools']);
    expect(created.traits[2].datasets).toEqual([alloc(ds[2], 50), alloc(ds[3], 30), alloc(ds[4], 20)]);
    const list = await (await bp.request(`${api}/projects/`)).json();
    expect(list).toMatchObject({ total: 1, page: 1, page_size: 50 });
    expect(list).not.toHaveProperty('pages');
    expect((await (await bp.request(`${api}/projects/${created.id}`)).json()).id).toBe(created.id);
    // Lists and gets come aliased from GraphQL, creates are renamed: the same shape either way.
    expect(JSON.stringify(list.items[0])).toBe(JSON.stringify(created));
    expect(await (await bp.request(`${api}/projects/${created.id}`)).json()).toEqual(created);
    const patched = await bp.request(`${api}/projects/${created.id}`, { ...json({ name: 'Updated Project Name' }), method: 'PATCH' });
    expect((await patched.json()).name).toBe('Updated Project Name');
    expect((await bp.request(`${api}/jobs/${created.id}`)).status).toBe(404);
    expect((await bp.request(`${api}/projects/project-999`)).status).toBe(404);
  });

  it('start validates the model first (400 when it is not available)', async () => {
    const created = await (await project([{ trait_type: 'coding', datasets: [alloc(ds[0], 100)] }], { base_model: 'org/not-cached' })).json();
    const start = await bp.request(`${api}/projects/${created.id}/start`, { method: 'POST' });
    expect(start.status).toBe(400);
    expect((await start.json()).detail).toMatch(/Model not available/);
    expect((await (await bp.request(`${api}/projects/${created.id}`)).json()).status).toBe('pending');
  });

  it('validate of a project that has not trained reports why', async () => {
    const created = await (await project([{ trait_type: 'coding', datasets: [alloc(ds[0], 100)] }])).json();
    const result = await (await bp.request(`${api}/projects/${created.id}/validate`, { method: 'POST' })).json();
    expect(result).toMatchObject({ valid: false, files: { valid: false }, loading: { valid: false } });
  });

  it('answers GraphQL for the same objects', async () => {
    const result = await bp.gql('{ trainingConfig { maxConcurrentWorkers defaultModel } trainingDatasets(pageSize: 2) { total items { id columnList } } trainingAvailableModels }');
    expect(result.errors).toBeUndefined();
    expect(result.data.trainingDatasets.items[0].columnList).toEqual(['text']);
    expect(result.data.trainingAvailableModels[0]).toBe('tiny-lm');
  });
});

describe('project mix', () => {
  it('is deterministic for a seed and honours the allocation', async () => {
    const { planMix, selectionSampler, mulberry32 } = await import('../plugins/training/project-rules.ts');
    const datasets = new Map([1, 2, 3].map((id) => [id, { id, row_count: id * 100 } as never]));
    const plan = planMix([{ id: 1, trait_type: 'general_tools', datasets: [{ dataset_id: 1, percentage: 50 }, { dataset_id: 2, percentage: 30 }, { dataset_id: 3, percentage: 20 }] }], datasets, null);
    expect(plan.map((p) => p.rows)).toEqual([100, 60, 40]);
    const pick = (seed: number) => {
      const s = selectionSampler(10, 100, mulberry32(seed));
      return Array.from({ length: 100 }, (_, i) => i).filter((i) => s(i));
    };
    expect(pick(7)).toEqual(pick(7));
    expect(pick(7)).toHaveLength(10);
    expect(pick(7)).not.toEqual(pick(8));
    expect(planMix([{ id: 1, trait_type: 'coding', datasets: [{ dataset_id: 3, percentage: 100 }] }], datasets, 30).map((p) => p.rows)).toEqual([30]);
  });
});
