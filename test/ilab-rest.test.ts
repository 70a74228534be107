import { mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { get, getJob, goJson, goText, label, post, startIlabTestDaemon, waitForJob, waitForServerGone, waitForServing } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

let fake: FakeIlab;
let bp: TestDaemon;
beforeAll(async () => {
  fake = await createFakeIlab({ version: '0.23' });
  bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config() } } });
});
afterAll(async () => {
  try {
    await bp.stop();
  } finally {
    await fake.cleanup();
  }
});

const jobIdOf = (body: string, key = 'job_id') => (JSON.parse(body) as Record<string, string>)[key];

describe('GET /models', () => {
  test('the cached 3-column table (ilab 0.23), in struct field order, byte for byte', async () => {
    expect(await get(bp, '/models')).toEqual(
      goJson(
        '[{"name":"granite-7b-lab-Q4_K_M.gguf","last_modified":"2025-01-24 14:05:11","size":"4.0 B"},' +
          '{"name":"instructlab/granite-7b-lab","last_modified":"2025-01-24 14:05:11","size":"7.5 GB"},' +
          '{"name":"models/granite-8b-starter-v1","last_modified":"2025-01-24 14:05:11","size":"7.5 GB"}]',
      ),
    );
    const calls = (await fake.calls()).filter((c) => c.argv.join(' ') === 'model list').length;
    await get(bp, '/models');
    expect((await fake.calls()).filter((c) => c.argv.join(' ') === 'model list').length).toBe(calls);
  });

  test('the 4-column table of ilab 0.26 gives the same JSON; an empty table is a 500, never []', async () => {
    await fake.scenario({ version: '0.26' });
    const refreshed = await bp.gql('mutation { refreshIlabModels { name absolutePath } }');
    expect(refreshed.data.refreshIlabModels[2]).toEqual({ name: 'models/granite-8b-starter-v1', absolutePath: path.join(fake.models, 'granite-8b-starter-v1') });
    expect(JSON.parse((await get(bp, '/models')).body)).toHaveLength(3);
    await fake.scenario({ version: '0.23', fail: { 'model list': { exitCode: 0, stdout: '+------------+---------------+------+\n| Model Name | Last Modified | Size |\n+------------+---------------+------+\n+------------+---------------+------+\n' } } });
    await bp.gql('mutation { refreshIlabModels { name } }');
    expect(await get(bp, '/models')).toEqual(goText(500, 'Failed to retrieve models'));
    await fake.scenario({ version: '0.23' });
    await bp.gql('mutation { refreshIlabModels { name } }');
  });

  test('a failed refresh keeps serving the models it had', async () => {
    await fake.scenario({ fail: { 'model list': { exitCode: 1, stderr: 'boom' } } });
    const failed = await bp.gql('mutation { refreshIlabModels { name } }');
    expect(failed.errors?.[0]).toMatchObject({ message: 'ilab model list failed with exit code 1', extensions: { code: 'BACKEND_ERROR' } });
    expect(JSON.parse((await get(bp, '/models')).body)).toHaveLength(3);
    expect((await bp.gql('{ ilabModelCache { count lastError } }')).data.ilabModelCache).toEqual({ count: 3, lastError: 'ilab model list failed with exit code 1' });
    await fake.scenario({});
  });
});

describe('GET /data', () => {
  test('datasets (4 columns, grouped by run) as {dataset, created_at, file_size}; none is null', async () => {
    expect(await get(bp, '/data')).toEqual(goJson('null'));
    const run = path.join(fake.datasets, '2025-01-28_021103');
    await mkdir(run, { recursive: true });
    await writeFile(path.join(run, 'knowledge_train_msgs_2025-01-28T02_11_05.jsonl'), 'x'.repeat(2048));
    const file = path.join(run, 'knowledge_train_msgs_2025-01-28T02_11_05.jsonl');
    // ilab prints the file's ctime in local time.
    const c = (await stat(file)).ctime;
    const pad = (n: number) => String(n).padStart(2, '0');
    const createdAt = `${c.getFullYear()}-${pad(c.getMonth() + 1)}-${pad(c.getDate())} ${pad(c.getHours())}:${pad(c.getMinutes())}:${pad(c.getSeconds())}`;
    expect(await get(bp, '/data')).toEqual(goJson(`[{"dataset":"2025-01-28_021103/knowledge_train_msgs_2025-01-28T02_11_05.jsonl","created_at":"${createdAt}","file_size":"2.00 KB"}]`));
    await rm(run, { recursive: true });
  });

  test('a failing ilab data list answers 500 with ilab’s own output', async () => {
    await rm(fake.datasets, { recursive: true });
    expect(await get(bp, '/data')).toEqual(goText(500, `Failed to list datasets with exception: directory does not exist: ${fake.datasets}\n`));
    await mkdir(fake.datasets, { recursive: true });
  });
});

describe('POST /data/generate and /model/train', () => {
  test('generate ignores the body and answers {"job_id":"g-…"}', async () => {
    const reply = await post(bp, '/data/generate', 'not json at all');
    expect(reply).toEqual(goJson(`{"job_id":"${jobIdOf(reply.body)}"}`));
    expect(jobIdOf(reply.body)).toMatch(/^g-\d{19}$/);
    const job = await waitForJob(bp, jobIdOf(reply.body));
    expect(job).toMatchObject({ status: 'succeeded', command: fake.bin, args: ['data', 'generate', '--pipeline', 'full', `--taxonomy-path=${fake.taxonomy}`] });
    expect(job.log).toContain('instructlab.sdg.generate_data:474: Generated 10 samples');
    // Progress is written after the last line is parsed, which may be just after the job settles.
    await waitFor(async () => ((await getJob(bp, job.id)).progressMessage === 'generation took 0.05s' ? true : undefined));
  });

  test('bad train bodies are 400s with the legacy messages', async () => {
    const ok = { modelName: 'models/granite-8b-starter-v1', branchName: 'main' };
    expect(await post(bp, '/model/train')).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/model/train', '{bad')).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/model/train', [])).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/model/train', { modelName: 'x' })).toEqual(goText(400, 'Missing required parameters: modelName or branchName'));
    expect(await post(bp, '/model/train', { ...ok, branchName: '' })).toEqual(goText(400, 'Missing required parameters: modelName or branchName'));
    expect(await post(bp, '/model/train', { ...ok, epochs: 0 })).toEqual(goText(400, "'epochs' must be a positive integer"));
    expect(await post(bp, '/model/train', { ...ok, epochs: -3 })).toEqual(goText(400, "'epochs' must be a positive integer"));
    expect(await post(bp, '/model/train', { ...ok, epochs: '10' })).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/model/train', { ...ok, epochs: 1.5 })).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/model/train', { ...ok, modelName: 7 })).toEqual(goText(400, 'Invalid request body'));
    expect((await post(bp, '/model/train', { ...ok, branchName: '--upload-pack=x' })).status).toBe(400);
    expect(await post(bp, '/model/train', { ...ok, branchName: 'a..b' })).toEqual(goText(400, "Invalid branchName 'a..b': not a valid git branch name"));
    expect(await post(bp, '/model/train', { ...ok, modelName: '../../etc' })).toEqual(goText(400, `Invalid modelName '../../etc': the model must be inside ${fake.models}`));
    expect(await post(bp, '/model/train', { ...ok, modelName: 'models/nope' })).toEqual(goText(404, `Model 'models/nope' does not exist in ${fake.models}`));
    expect(await post(bp, '/model/train', { ...ok, branchName: 'nope' })).toEqual(goText(500, "Failed to checkout branch 'nope': fatal: Needed a single revision"));
    expect(await bp.request('/model/train')).toMatchObject({ status: 405 });
  });

  test('train answers {"job_id":"t-…"}; the log starts with the command; keys match case-insensitively as in Go', async () => {
    const reply = await post(bp, '/model/train', { MODELNAME: 'model/granite-8b-starter-v1', branchName: 'feature/train-improvements', epochs: 2, unknown: true });
    expect(reply).toEqual(goJson(`{"job_id":"${jobIdOf(reply.body)}"}`));
    const job = await waitForJob(bp, jobIdOf(reply.body));
    const modelPath = path.join(fake.models, 'granite-8b-starter-v1');
    expect(job.status).toBe('succeeded');
    expect(job.args.slice(0, 4)).toEqual(['model', 'train', '--pipeline', 'accelerated']);
    expect(job.args).toContain(`--model-path=${modelPath}`);
    expect(job.args.at(-1)).toBe('--num-epochs=2');
    expect(job.log!.split('\n')[0]).toBe(`[ILAB TRAIN COMMAND] ${fake.bin} [${job.args.join(' ')}]`);
    expect(label(job, 'branch')).toBe('feature/train-improvements');
    expect(await get(bp, `/jobs/${job.id}/status`)).toEqual(goJson(`{"branch":"feature/train-improvements","command":"${fake.bin}","job_id":"${job.id}","status":"finished"}`));
  });
});

describe('POST /pipeline/generate-train', () => {
  test('a p- job with a g- then a t- child, an end time and the legacy narrative (epochs as a number)', async () => {
    expect(await post(bp, '/pipeline/generate-train', { modelName: 'models/granite-8b-starter-v1' })).toEqual(goText(400, 'Missing required parameters: modelName or branchName'));
    expect(await post(bp, '/pipeline/generate-train', { modelName: 'models/granite-8b-starter-v1', branchName: 'main', epochs: 0 })).toEqual(goText(400, "'epochs' must be a positive integer"));
    const reply = await post(bp, '/pipeline/generate-train', { modelName: 'models/granite-8b-starter-v1', branchName: 'other', epochs: 1 });
    const id = jobIdOf(reply.body, 'pipeline_job_id');
    expect(reply).toEqual(goJson(`{"pipeline_job_id":"${id}"}`));
    const job = await waitForJob(bp, id);
    expect(job.status).toBe('succeeded');
    expect(job.finishedAt).not.toBeNull();
    const [g, t] = job.children;
    expect([g.kind, g.status, t.kind, t.status]).toEqual(['data-generate', 'succeeded', 'train', 'succeeded']);
    const lines = job.log!.trimEnd().split('\n');
    expect(lines[0]).toBe(`Starting pipeline job: ${id}, model: models/granite-8b-starter-v1, branch: other, epochs: 1`);
    expect(lines[1]).toMatch(/^Git checkout output: Preparing worktree \(detached HEAD [0-9a-f]+\)$/);
    expect(lines.slice(3)).toEqual([
      'Starting data generation step...',
      `Data generation step started with job_id=${g.id}`,
      'Data generation step completed successfully.',
      'Starting training step...',
      `Training step started with job_id=${t.id}`,
      'Training step completed successfully.',
      'Pipeline job completed successfully.',
    ]);
    expect((await getJob(bp, g.id)).log).toContain('Taxonomy files: knowledge/base/qna.yaml, knowledge/other/qna.yaml\n');
    const listed = JSON.parse((await get(bp, '/jobs')).body).find((j: { job_id: string }) => j.job_id === id);
    expect(listed).toMatchObject({ cmd: 'pipeline-generate-train', args: ['models/granite-8b-starter-v1', 'other'], status: 'finished', branch: 'other', pid: 0 });
    expect(listed.end_time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('checkpoints and serving (local ilab model serve)', () => {
  test('GET /checkpoints: 404 without the directory, null when empty, names sorted by bytes', async () => {
    await rm(fake.checkpoints, { recursive: true, force: true }); // the train tests above wrote some
    expect(await get(bp, '/checkpoints')).toEqual(goText(404, 'Checkpoints directory does not exist'));
    expect(await post(bp, '/model/serve-latest', {})).toEqual(goText(404, 'Checkpoints directory does not exist'));
    await mkdir(fake.checkpoints, { recursive: true });
    expect(await get(bp, '/checkpoints')).toEqual(goJson('null'));
    expect(await post(bp, '/model/serve-latest', {})).toEqual(goText(500, 'Failed to find the latest checkpoint'));
    for (const name of ['samples_200', 'samples_1000', 'last_epoch']) await fake.addCheckpoint(name);
    // An older last_epoch: the latest checkpoint is samples_1000 (by number, not name or mtime).
    await utimes(path.join(fake.checkpoints, 'last_epoch'), new Date(2020, 0, 1), new Date(2020, 0, 1));
    await writeFile(path.join(fake.checkpoints, 'training_params.jsonl'), '');
    expect(await get(bp, '/checkpoints')).toEqual(goJson('["last_epoch","samples_1000","samples_200"]'));
  });

  test('serve-latest: body checks, then the highest samples_N; every click restarts the server (as Go did), gracefully', async () => {
    expect(await post(bp, '/model/serve-latest')).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/model/serve-latest', { checkpoint: '../../etc' })).toEqual(goText(400, "Checkpoint '../../etc' does not exist"));
    expect(await post(bp, '/model/serve-latest', { checkpoint: 'samples_9' })).toEqual(goText(400, "Checkpoint 'samples_9' does not exist"));
    const first = await post(bp, '/model/serve-latest', {});
    const firstId = jobIdOf(first.body);
    expect(first).toEqual(goJson(`{"job_id":"${firstId}","status":"model process started"}`));
    expect(firstId).toMatch(/^ml-\d+$/);
    await waitForServing(bp, 'post-train');
    const serving = await getJob(bp, firstId);
    expect(label(serving, 'model_path')).toBe(path.join(fake.checkpoints, 'samples_1000'));
    expect(label(serving, 'served_model_name')).toBe('post-train');
    // The Go server killed the old process and started a new one on every request; this waits
    // for the old one to stop (SIGTERM) first. GraphQL keeps it unless asked to restart.
    const again = await post(bp, '/model/serve-latest', {});
    const againId = jobIdOf(again.body);
    expect(again).toEqual(goJson(`{"job_id":"${againId}","status":"model process started"}`));
    expect(againId).not.toBe(firstId);
    const old = await waitForServerGone(bp, firstId);
    expect(old.log).toContain('INFO:     Shutting down');
    await waitForServing(bp, 'post-train');
    const kept = await bp.gql('mutation { serveIlabLatest { jobId status } }');
    expect(kept.data.serveIlabLatest).toEqual({ jobId: againId, status: 'already_running' });

    const second = await post(bp, '/model/serve-latest', { checkpoint: 'samples_200' });
    expect(second.status).toBe(200);
    await waitForServing(bp, 'post-train');
    await waitForServerGone(bp, againId);
    await bp.gql('mutation { stopIlabServedModel(name: "post-train") { status } }');
    await waitForServerGone(bp, jobIdOf(second.body));
  });

  test('serve-base: the configured base model, or 404 with its path', async () => {
    const reply = await post(bp, '/model/serve-base');
    expect(reply).toEqual(goJson(`{"job_id":"${jobIdOf(reply.body)}","status":"model process started"}`));
    expect(label(await getJob(bp, jobIdOf(reply.body)), 'model_path')).toBe(path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf'));
    await waitForServing(bp, 'pre-train');
    await bp.gql('mutation { stopIlabServedModel(name: "pre-train") { status } }');
    await waitForServerGone(bp, jobIdOf(reply.body));
    await rm(path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf'));
    expect(await post(bp, '/model/serve-base')).toEqual(goText(404, `Model path does not exist: ${path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf')}`));
    await writeFile(path.join(fake.models, 'granite-7b-lab-Q4_K_M.gguf'), 'GGUF');
  });
});

describe('POST /qna-eval', () => {
  test('runs the container as a job and answers {"result": stdout}', async () => {
    const model = path.join(fake.checkpoints, 'samples_1000');
    const reply = await post(bp, '/qna-eval', { model_path: model, yaml_file: fake.qnaYaml });
    expect(reply).toEqual(
      goJson(`{"result":"Q1: What is backplane?\\nA1: Answer 1 from samples_1000 (quay.io/test/qna-eval:1)\\n\\nQ2: Does it run ilab?\\nA2: Answer 2 from samples_1000 (quay.io/test/qna-eval:1)\\n\\n"}`),
    );
    const jobs = (await bp.gql('{ jobs(kind: "qna-eval") { edges { node { id args status } } } }')).data.jobs.edges;
    expect(jobs[0].node.args).toEqual(['run', '--rm', '--quiet', '--device', 'nvidia.com/gpu=all', '-v', `${model}:${model}:ro`, '-v', `${fake.qnaYaml}:${fake.qnaYaml}:ro`, 'quay.io/test/qna-eval:1', '--model_path', model, '--yaml_file', fake.qnaYaml]);
  });

  test('paths are confined to the roots before anything checks they exist', async () => {
    const model = path.join(fake.checkpoints, 'samples_1000');
    expect(await post(bp, '/qna-eval', { model_path: '/etc', yaml_file: fake.qnaYaml })).toEqual(goText(400, 'Model path is outside the allowed directories: /etc'));
    expect(await post(bp, '/qna-eval', { model_path: `${fake.checkpoints}/../../../../../etc/passwd`, yaml_file: fake.qnaYaml })).toMatchObject({ status: 400 });
    expect(await post(bp, '/qna-eval', { model_path: path.join(fake.checkpoints, 'nope'), yaml_file: fake.qnaYaml })).toEqual(goText(400, `Model path does not exist: ${path.join(fake.checkpoints, 'nope')}`));
    expect(await post(bp, '/qna-eval', { model_path: model, yaml_file: '/etc/hosts' })).toEqual(goText(400, 'YAML file is outside the allowed directories: /etc/hosts'));
    expect(await post(bp, '/qna-eval', { model_path: model, yaml_file: path.join(fake.taxonomy, 'nope.yaml') })).toEqual(goText(400, `YAML file does not exist: ${path.join(fake.taxonomy, 'nope.yaml')}`));
    expect(await post(bp, '/qna-eval', {})).toEqual(goText(400, 'Model path does not exist: '));
    expect(await post(bp, '/qna-eval', { model_path: model })).toEqual(goText(400, 'YAML file does not exist: '));
    expect(await post(bp, '/qna-eval', { model_path: 3 })).toEqual(goText(400, 'Invalid request body'));
  });

  test('a failing container is a 500 with a JSON error and a job that keeps its log', async () => {
    const yaml = path.join(fake.taxonomy, 'failing.yaml');
    await writeFile(yaml, 'fail: true\n');
    const reply = await post(bp, '/qna-eval', { model_path: path.join(fake.checkpoints, 'samples_1000'), yaml_file: yaml });
    expect(reply.status).toBe(500);
    expect(reply.type).toBe('application/json');
    expect(reply.body).toBe(`${JSON.stringify({ error: 'Traceback (most recent call last):\n  File "/app/qna-eval.py", line 42, in \u003cmodule\u003e\ntorch.OutOfMemoryError: CUDA out of memory.\n' }).replace(/[<>]/g, (c) => (c === '<' ? '\\u003c' : '\\u003e'))}\n`);
  });
});

test('POST /model/convert is refused (403) unless convert.enabled', async () => {
  expect(await post(bp, '/model/convert', { model_dir: fake.models })).toEqual(goText(403, 'Model conversion endpoint is available only on OSX'));
});

test('unknown ilab-ui paths and trailing slashes answer like gorilla/mux', async () => {
  expect(await get(bp, '/models/')).toEqual(goText(404, '404 page not found'));
  const wrong = await bp.request('/checkpoints', { method: 'POST' });
  expect([wrong.status, await wrong.text()]).toEqual([405, '']);
});
