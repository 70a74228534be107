import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { getJob, goJson, goText, post, startIlabTestDaemon, waitForJob } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

describe('failures and cancellation keep their logs', () => {
  let fake: FakeIlab;
  let bp: TestDaemon;
  beforeAll(async () => {
    fake = await createFakeIlab();
    bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config() } } });
  });
  afterAll(async () => {
    try {
      await bp.stop();
    } finally {
      await fake.cleanup();
    }
  });
  const start = async (mutation: string) => Object.values((await bp.gql(`mutation { ${mutation} { jobId } }`)).data as Record<string, { jobId: string }>)[0].jobId;

  test('a cancelled slow generate: cancelled, log kept, worktree removed', async () => {
    await fake.scenario({ slow: { 'data generate': true } });
    const id = await start('startIlabDataGenerate(branchName: "other")');
    await waitFor(async () => ((await getJob(bp, id)).log?.includes('running until stopped') ? true : undefined));
    const cancelled = (await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { status } }', { id })).data.cancelJob;
    expect(cancelled.status).toBe('cancelled');
    const job = await getJob(bp, id);
    expect(job.log).toContain('fake ilab data generate: running until stopped\n');
    expect(job.log).toContain('Aborted!\n');
    await waitFor(async () => ((await readdir(path.join(bp.dataDir, 'plugins', 'ilab', 'worktrees'))).length === 0 ? true : undefined));
    await fake.scenario({});
  });

  test('a failing train: failed with its exit code, log kept', async () => {
    await fake.scenario({ fail: { 'model train': { exitCode: 1, stderr: 'torch.OutOfMemoryError: CUDA out of memory.\n' } } });
    const id = await start('startIlabTrain(modelName: "models/granite-8b-starter-v1", branchName: "main")');
    const job = await waitForJob(bp, id);
    expect(job).toMatchObject({ status: 'failed', failureReason: 'exited with code 1' });
    expect(job.log).toMatch(/^\[ILAB TRAIN COMMAND\] .*\ntorch\.OutOfMemoryError: CUDA out of memory\.\n$/);
    expect(JSON.parse(await (await bp.request(`/jobs/${id}/status`)).text()).status).toBe('failed');
    await fake.scenario({});
  });

  test('a pipeline whose generation fails: failed, with an end time, and no training step', async () => {
    await fake.scenario({ fail: { 'data generate': { exitCode: 2, stderr: 'Error: no teacher model\n' } } });
    const id = JSON.parse((await post(bp, '/pipeline/generate-train', { modelName: 'models/granite-8b-starter-v1', branchName: 'main' })).body).pipeline_job_id;
    const job = await waitForJob(bp, id);
    expect(job).toMatchObject({ status: 'failed', failureReason: expect.stringMatching(/^data generation step g-\d+ failed$/) });
    expect(job.finishedAt).not.toBeNull();
    expect(job.children.map((c) => [c.kind, c.status])).toEqual([['data-generate', 'failed']]);
    expect(job.log!.trimEnd().split('\n').slice(-2)).toEqual([`Data generation step started with job_id=${job.children[0].id}`, 'Data generation step failed.']);
    expect((await getJob(bp, job.children[0].id)).log).toContain('Error: no teacher model');
    await fake.scenario({});
  });

  test('a cancelled pipeline cancels its running step and starts no other', async () => {
    await fake.scenario({ slow: { 'data generate': true } });
    const id = await start('startIlabPipeline(modelName: "models/granite-8b-starter-v1", branchName: "main")');
    const g = await waitFor(async () => (await getJob(bp, id)).children.find((c) => c.status === 'running'));
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { status } }', { id });
    expect((await waitForJob(bp, g.id)).status).toBe('cancelled');
    const job = await waitFor(async () => {
      const current = await getJob(bp, id);
      return current.log?.includes('Pipeline job cancelled.') ? current : undefined;
    });
    expect(job.status).toBe('cancelled');
    expect(job.children).toHaveLength(1);
    await fake.scenario({});
  });

  test('a pipeline whose training fails to start reports why', async () => {
    const gate = path.join(fake.home, 'generate-may-finish');
    await fake.scenario({ gate: { 'data generate': gate } });
    const id = await start('startIlabPipeline(modelName: "models/granite-8b-starter-v1", branchName: "main")');
    await waitFor(async () => ((await getJob(bp, id)).children.length > 0 ? true : undefined));
    // The model disappears while the generation step runs.
    await rename(path.join(fake.models, 'granite-8b-starter-v1'), path.join(fake.models, 'moved'));
    await writeFile(gate, '');
    const job = await waitForJob(bp, id);
    await rename(path.join(fake.models, 'moved'), path.join(fake.models, 'granite-8b-starter-v1'));
    expect(job.status).toBe('failed');
    expect(job.log).toContain(`Training step failed to start: Model 'models/granite-8b-starter-v1' does not exist in ${fake.models}\n`);
    await fake.scenario({});
  });
});

describe('qna-eval timeout', () => {
  test('the legacy route gives up after qnaEval.timeoutMs with a JSON error, and cancels the job', async () => {
    const fake = await createFakeIlab();
    const config = await fake.config();
    const bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: { ...config, qnaEval: { ...(config.qnaEval as object), timeoutMs: 300 } } } } });
    try {
      await fake.addCheckpoint('samples_8');
      const yaml = path.join(fake.taxonomy, 'slow.yaml');
      await writeFile(yaml, 'slow: true\n');
      const reply = await post(bp, '/qna-eval', { model_path: path.join(fake.checkpoints, 'samples_8'), yaml_file: yaml });
      expect(reply.status).toBe(500);
      const { error } = JSON.parse(reply.body);
      const id = /job (q-\d+) was cancelled/.exec(error)![1];
      expect(reply).toEqual(goJson(JSON.stringify({ error: `qna-eval did not finish within 300 ms; job ${id} was cancelled` }), 500));
      expect((await waitForJob(bp, id)).status).toBe('cancelled');
    } finally {
      await bp.stop();
      await fake.cleanup();
    }
  });
});

describe('command lines per profile', () => {
  test('rhelai: data path of the newest run (not only the top level), batch, GPUs, save-samples; none yet is a 500', async () => {
    const fake = await createFakeIlab();
    const bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config({ train: { profile: 'rhelai', gpus: 4 }, devices: ['cuda'] }) } } });
    try {
      const body = { modelName: 'models/granite-8b-starter-v1', branchName: 'main', epochs: 3 };
      expect(await post(bp, '/model/train', body)).toEqual(goText(500, 'Failed to start train job'));
      for (const [run, stamp] of [['2025-01-27_101010', '2025-01-27T10_10_10'], ['2025-01-28_021103', '2025-01-28T02_11_05']]) {
        await mkdir(path.join(fake.datasets, run), { recursive: true });
        await writeFile(path.join(fake.datasets, run, `knowledge_train_msgs_${stamp}.jsonl`), '{}\n');
      }
      const reply = await post(bp, '/model/train', body);
      const job = await waitForJob(bp, JSON.parse(reply.body).job_id);
      expect(job.args).toEqual([
        'model', 'train',
        `--data-path=${path.join(fake.datasets, '2025-01-28_021103', 'knowledge_train_msgs_2025-01-28T02_11_05.jsonl')}`,
        '--max-batch-len=5000', '--gpus=4', '--device=cuda', '--save-samples=1000',
        `--model-path=${path.join(fake.models, 'granite-8b-starter-v1')}`,
        '--pipeline', 'accelerated', '--num-epochs=3',
      ]);
    } finally {
      await bp.stop();
      await fake.cleanup();
    }
  });

  test('simple pipeline: --optimize-memory and the GGUF path; mps device', async () => {
    const fake = await createFakeIlab();
    const bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config({ pipeline: 'simple', devices: ['mps'], generatePipeline: 'simple' }) } } });
    try {
      const { data } = await bp.gql('mutation { startIlabTrain(modelName: "granite-7b-lab-Q4_K_M.gguf", branchName: "main") { jobId } }');
      const job = await waitForJob(bp, data.startIlabTrain.jobId);
      expect(job.args).toEqual(['model', 'train', '--pipeline', 'simple', '--optimize-memory', `--gguf-model-path=${path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf')}`, '--device=mps']);
      const generate = await waitForJob(bp, JSON.parse((await post(bp, '/data/generate')).body).job_id);
      expect(generate.args.slice(0, 4)).toEqual(['data', 'generate', '--pipeline', 'simple']);
    } finally {
      await bp.stop();
      await fake.cleanup();
    }
  });
});
