import { existsSync } from 'node:fs';
import { readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { idleGpu } from './helpers/test-gpus.ts';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { goJson, goText, label, post, startIlabTestDaemon, waitForJob, waitForServerGone } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const gpu = idleGpu;
const testGpus = definePlugin({
  id: 'test-gpus',
  version: '1.0.0',
  init: ({ gpuInventory }) => gpuInventory.provide({ id: 'test-gpus', current: () => [gpu(0), gpu(1)], refresh: async () => [gpu(0), gpu(1)], freeMemoryMiB: 100 }),
});

let fake: FakeIlab;
let bp: TestDaemon;
beforeAll(async () => {
  fake = await createFakeIlab({ version: '0.26' });
  bp = await startIlabTestDaemon({ plugins: [testGpus, ilabPlugin], config: { plugins: { ilab: await fake.config({ convert: { enabled: true } }) } } });
});
afterAll(async () => {
  try {
    await bp.stop();
  } finally {
    await fake.cleanup();
  }
});

const ok = async (query: string, variables?: Record<string, unknown>) => {
  const result = await bp.gql(query, variables);
  expect(result.errors).toBeUndefined();
  return result.data;
};
const errorOf = async (query: string, variables?: Record<string, unknown>) => (await bp.gql(query, variables)).errors?.[0];

describe('reading', () => {
  test('ilabModels (4 columns, absolute paths), ilabModelCache', async () => {
    const { ilabModels } = await ok('{ ilabModels { name lastModified size absolutePath } }');
    expect(ilabModels).toEqual([
      { name: 'granite-7b-lab-Q4_K_M.gguf', lastModified: '2025-01-24 14:05:11', size: '4.0 B', absolutePath: path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf') },
      { name: 'instructlab/granite-7b-lab', lastModified: '2025-01-24 14:05:11', size: '7.5 GB', absolutePath: path.join(fake.models, 'instructlab', 'granite-7b-lab') },
      { name: 'models/granite-8b-starter-v1', lastModified: '2025-01-24 14:05:11', size: '7.5 GB', absolutePath: path.join(fake.models, 'granite-8b-starter-v1') },
    ]);
    const { ilabModelCache } = await ok('{ ilabModelCache { count refreshedAt lastError refreshing } }');
    expect(ilabModelCache).toMatchObject({ count: 3, lastError: null, refreshing: false });
    expect(Date.parse(ilabModelCache.refreshedAt)).not.toBeNaN();
  });

  test('ilabModelsRefreshed streams each refresh over graphql-ws', async () => {
    const client = bp.ws();
    const received: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const stop = client.subscribe({ query: 'subscription { ilabModelsRefreshed { name } }' }, {
        next: (value) => {
          received.push(value.data);
          stop();
          resolve();
        },
        error: reject,
        complete: () => resolve(),
      });
    });
    // The subscription is registered asynchronously; refresh until it sees one.
    await waitFor(async () => {
      await ok('mutation { refreshIlabModels { name } }');
      return received.length > 0 ? true : undefined;
    });
    await done;
    expect(received[0]).toEqual({ ilabModelsRefreshed: [{ name: 'granite-7b-lab-Q4_K_M.gguf' }, { name: 'instructlab/granite-7b-lab' }, { name: 'models/granite-8b-starter-v1' }] });
  });

  test('ilabCheckpoints and ilabLatestCheckpoint: by samples number, unless last_epoch is newer', async () => {
    expect((await errorOf('{ ilabCheckpoints { name } }'))?.extensions?.code).toBe('NOT_FOUND');
    for (const name of ['samples_200', 'samples_1000']) await fake.addCheckpoint(name);
    const { ilabCheckpoints, ilabLatestCheckpoint } = await ok('{ ilabCheckpoints { name samples path } ilabLatestCheckpoint { name } }');
    expect(ilabCheckpoints).toEqual([
      { name: 'samples_1000', samples: 1000, path: path.join(fake.checkpoints, 'samples_1000') },
      { name: 'samples_200', samples: 200, path: path.join(fake.checkpoints, 'samples_200') },
    ]);
    // Touching an older checkpoint does not make it the latest (the legacy mtime bug).
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(fake.checkpoints, 'samples_200'), later, later);
    expect(ilabLatestCheckpoint).toEqual({ name: 'samples_1000' });
    expect((await ok('{ ilabLatestCheckpoint { name } }')).ilabLatestCheckpoint).toEqual({ name: 'samples_1000' });
    await fake.addCheckpoint('last_epoch');
    await utimes(path.join(fake.checkpoints, 'last_epoch'), new Date(Date.now() + 120_000), new Date(Date.now() + 120_000));
    expect((await ok('{ ilabLatestCheckpoint { name samples } }')).ilabLatestCheckpoint).toEqual({ name: 'last_epoch', samples: null });
  });
});

describe('jobs', () => {
  test('startIlabDataGenerate on two branches at once: each sees only its own branch, in its own worktree', async () => {
    const start = (branch: string) => ok('mutation($b: String) { startIlabDataGenerate(branchName: $b) { jobId kind branch mock } }', { b: branch });
    const [a, b] = await Promise.all([start('feature/train-improvements'), start('other')]);
    expect(a.startIlabDataGenerate).toMatchObject({ kind: 'data-generate', branch: 'feature/train-improvements', mock: false });
    const [jobA, jobB] = await Promise.all([waitForJob(bp, a.startIlabDataGenerate.jobId), waitForJob(bp, b.startIlabDataGenerate.jobId)]);
    expect(jobA.log).toContain('Taxonomy files: knowledge/base/qna.yaml, knowledge/feature-train-improvements/qna.yaml\n');
    expect(jobB.log).toContain('Taxonomy files: knowledge/base/qna.yaml, knowledge/other/qna.yaml\n');
    expect(label(jobA, 'commit')).toBe(fake.git('rev-parse', 'feature/train-improvements').trim());
    // The shared checkout never moved, and each worktree is gone once its job ended.
    expect(fake.git('branch', '--show-current').trim()).toBe('main');
    await waitFor(async () => ((await readdir(path.join(bp.dataDir, 'plugins', 'ilab', 'worktrees'))).length === 0 ? true : undefined));
    expect(fake.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    const { ilabDatasets } = await ok('{ ilabDatasets { dataset model createdAt fileSize run } }');
    expect(ilabDatasets[0]).toMatchObject({ model: 'General', run: expect.stringMatching(/^\d{4}-\d\d-\d\d_\d{6}$/) });
  });

  test('startIlabTrain leases a GPU from the inventory (CUDA_VISIBLE_DEVICES), followed through jobUpdated', async () => {
    const { startIlabTrain } = await ok('mutation { startIlabTrain(modelName: "instructlab/granite-7b-lab", branchName: "main", epochs: 1) { jobId kind branch job { id plugin kind args } } }');
    expect(startIlabTrain).toMatchObject({ kind: 'train', branch: 'main', job: { id: startIlabTrain.jobId, plugin: 'ilab', kind: 'train' } });
    expect(startIlabTrain.job.args).toContain('--num-epochs=1');
    const client = bp.ws();
    const statuses: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe({ query: 'subscription($id: ID!) { jobUpdated(id: $id) { status } }', variables: { id: startIlabTrain.jobId } }, {
        next: (value) => void statuses.push((value.data as { jobUpdated: { status: string } }).jobUpdated.status),
        error: reject,
        complete: resolve,
      });
    });
    expect(statuses.at(-1)).toBe('succeeded');
    const { job } = await ok('query($id: ID!) { job(id: $id) { gpus args } }', { id: startIlabTrain.jobId });
    expect(job.gpus).toHaveLength(1);
    expect(job.args).toContain(`--model-path=${path.join(fake.models, 'instructlab', 'granite-7b-lab')}`);
    const call = (await fake.calls()).find((c) => c.argv[1] === 'train')!;
    expect(call.cuda).toBe(String(job.gpus[0]));
  });

  test('startIlabPipeline returns the p- job; its children run in order', async () => {
    const { startIlabPipeline } = await ok('mutation { startIlabPipeline(modelName: "models/granite-8b-starter-v1", branchName: "main") { jobId kind branch } }');
    expect(startIlabPipeline).toMatchObject({ kind: 'pipeline', branch: 'main' });
    const job = await waitForJob(bp, startIlabPipeline.jobId);
    expect(job.status).toBe('succeeded');
    expect(job.log).toContain(', epochs: <nil>\n');
    expect(job.children.map((c) => c.kind)).toEqual(['data-generate', 'train']);
  });

  test('startIlabConvert: a c- job with the legacy log header; paths confined', async () => {
    const dir = path.join(fake.checkpoints, 'samples_1000');
    const { startIlabConvert } = await ok('mutation($d: String!) { startIlabConvert(modelDir: $d) { jobId kind } }', { d: dir });
    expect(startIlabConvert.jobId).toMatch(/^c-\d+$/);
    const job = await waitForJob(bp, startIlabConvert.jobId);
    expect(job.log!.split('\n')[0]).toBe(`[ILAB CONVERT COMMAND] ${fake.bin} [model convert --model-dir=${dir}]`);
    expect(job.status).toBe('succeeded');
    expect((await errorOf('mutation { startIlabConvert(modelDir: "/etc") { jobId } }'))?.extensions?.code).toBe('BAD_USER_INPUT');
    // The same through the legacy route, enabled here.
    const reply = await post(bp, '/model/convert', { model_dir: dir });
    expect(reply).toEqual(goJson(`{"job_id":"${JSON.parse(reply.body).job_id}"}`));
    expect((await waitForJob(bp, JSON.parse(reply.body).job_id)).args).toEqual(['model', 'convert', `--model-dir=${dir}`]);
    expect(await post(bp, '/model/convert', {})).toEqual(goText(400, 'Missing required parameter: model_dir'));
    expect(await post(bp, '/model/convert', { model_dir: '../../etc' })).toEqual(goText(400, `Invalid model_dir '../../etc': it must be inside ${fake.models} or ${fake.checkpoints}`));
    expect(await errorOf('mutation($d: String!) { startIlabConvert(modelDir: $d) { jobId } }', { d: path.join(fake.models, 'nope') })).toMatchObject({
      message: `Model directory does not exist: ${path.join(fake.models, 'nope')}`,
      extensions: { code: 'NOT_FOUND' },
    });
  });

  test('startIlabQnaEval and runIlabQnaEval', async () => {
    const vars = { m: path.join(fake.checkpoints, 'samples_1000'), y: fake.qnaYaml };
    const { startIlabQnaEval } = await ok('mutation($m: String!, $y: String!) { startIlabQnaEval(modelPath: $m, yamlFile: $y) { jobId kind } }', vars);
    expect(startIlabQnaEval).toMatchObject({ kind: 'qna-eval', jobId: expect.stringMatching(/^q-\d+$/) });
    expect((await waitForJob(bp, startIlabQnaEval.jobId)).log).toContain('Q2: Does it run ilab?\n');
    const { runIlabQnaEval } = await ok('mutation($m: String!, $y: String!) { runIlabQnaEval(modelPath: $m, yamlFile: $y) { jobId outcome output } }', vars);
    expect(runIlabQnaEval).toMatchObject({ outcome: 'succeeded', output: expect.stringContaining('A1: Answer 1 from samples_1000') });
    // A lease was taken, so CUDA_VISIBLE_DEVICES goes into the container.
    const { job } = await ok('query($id: ID!) { job(id: $id) { args gpus } }', { id: runIlabQnaEval.jobId });
    expect(job.args).toEqual(expect.arrayContaining(['--env', 'CUDA_VISIBLE_DEVICES']));
    expect(job.gpus).toHaveLength(1);
  });

  test('every argument is validated (zod) with coded errors', async () => {
    const bad = async (query: string) => (await errorOf(query))?.extensions?.code;
    expect(await errorOf('mutation { startIlabTrain(modelName: "x", branchName: "main", epochs: -1) { jobId } }')).toMatchObject({ message: 'Invalid argument: epochs: expected a positive integer' });
    expect(await bad('mutation { startIlabTrain(modelName: "", branchName: "main") { jobId } }')).toBe('BAD_USER_INPUT');
    expect(await errorOf('mutation { startIlabPipeline(modelName: "x", branchName: "-f") { jobId } }')).toMatchObject({ message: "Invalid argument: branchName: a branch name must not start with '-'" });
    expect(await bad('mutation { startIlabDataGenerate(branchName: "a..b") { jobId } }')).toBe('BAD_USER_INPUT');
    expect(await bad('mutation { startIlabDataGenerate(branchName: "nope") { jobId } }')).toBe('BACKEND_ERROR');
    expect(await bad('mutation { serveIlabLatest(checkpoint: "") { jobId } }')).toBe('BAD_USER_INPUT');
    expect(await bad('mutation { stopIlabServedModel(name: "x") { name } }')).toBe('BAD_USER_INPUT');
    expect(await bad('mutation { runIlabQnaEval(modelPath: "", yamlFile: "y") { jobId } }')).toBe('BAD_USER_INPUT');
  });
});

test('serveIlabBase, serveIlabLatest, ilabServedModels and stopIlabServedModel (local)', async () => {
  const served = async () => (await ok('{ ilabServedModels { name backend status port modelPath jobId } }')).ilabServedModels;
  expect((await served()).map((s: { status: string }) => s.status)).toEqual(['stopped', 'stopped']);
  const { serveIlabBase } = await ok('mutation { serveIlabBase { jobId status backend servedModelName port modelPath } }');
  expect(serveIlabBase).toMatchObject({ status: 'started', backend: 'local', servedModelName: 'pre-train', modelPath: path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf') });
  const { serveIlabLatest } = await ok('mutation { serveIlabLatest(checkpoint: "samples_200") { jobId status modelPath } }');
  expect(serveIlabLatest).toMatchObject({ status: 'started', modelPath: path.join(fake.checkpoints, 'samples_200') });
  await waitFor(async () => ((await served()).every((s: { status: string }) => s.status === 'running') ? true : undefined));
  expect((await served())[0]).toMatchObject({ name: 'pre-train', backend: 'local', jobId: serveIlabBase.jobId, port: serveIlabBase.port });
  for (const name of ['pre-train', 'post-train']) expect((await ok('mutation($n: String!) { stopIlabServedModel(name: $n) { status } }', { n: name })).stopIlabServedModel.status).toBe('stopped');
  for (const id of [serveIlabBase.jobId, serveIlabLatest.jobId]) expect((await waitForServerGone(bp, id)).status).toBe('cancelled');
  expect((await errorOf('mutation { stopIlabServedModel(name: "pre-train") { status } }'))?.extensions?.code).toBe('NOT_FOUND');
  expect(existsSync(path.join(fake.checkpoints, 'samples_200'))).toBe(true);
});
