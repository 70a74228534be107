import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { get, getJob, goJson, goText, post, startIlabTestDaemon, waitForJob, waitForServerGone, waitForServing } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';

/**
 * Where the Go api-server and backplane differed request by request (issue 10, items 3, 7, 8,
 * 9, 12), driven over HTTP against the daemon with the fake ilab, in local serving mode.
 */
let fake: FakeIlab;
let bp: TestDaemon;
beforeAll(async () => {
  fake = await createFakeIlab({ version: '0.26' });
  bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config() } } });
});
afterAll(async () => {
  try {
    await bp.stop();
  } finally {
    await fake.cleanup();
  }
});

const model = 'models/granite-8b-starter-v1';
const idOf = (body: string, key: string) => (JSON.parse(body) as Record<string, string>)[key];

describe('POST /pipeline/generate-train answers as Go did: a job id, and a job that fails with the reason', () => {
  test.each([
    ['an unknown branch', { modelName: model, branchName: 'nope' }, () => "Failed to checkout branch 'nope': fatal: Needed a single revision"],
    ['a branch git refuses', { modelName: model, branchName: 'a..b' }, () => "Invalid branchName 'a..b': not a valid git branch name"],
    ['an unknown model', { modelName: 'models/nope', branchName: 'main' }, () => `Model 'models/nope' does not exist in ${fake.models}`],
  ])('%s', async (_name, body, reason) => {
    const reply = await post(bp, '/pipeline/generate-train', body);
    const id = idOf(reply.body, 'pipeline_job_id');
    expect(reply).toEqual(goJson(`{"pipeline_job_id":"${id}"}`));
    const job = await waitForJob(bp, id);
    const expected = reason();
    expect(job).toMatchObject({ status: 'failed', failureReason: expected, children: [] });
    expect(job.log!.split('\n').slice(0, 2)).toEqual([`Starting pipeline job: ${id}, model: ${body.modelName}, branch: ${body.branchName}, epochs: <nil>`, expected]);
    expect(JSON.parse((await get(bp, `/jobs/${id}/status`)).body)).toMatchObject({ status: 'failed' });
  });

  test('GraphQL still refuses up front unless asked to defer', async () => {
    const result = await bp.gql(`mutation { startIlabPipeline(modelName: "${model}", branchName: "nope") { jobId } }`);
    expect(result.errors?.[0]).toMatchObject({ message: "Failed to checkout branch 'nope': fatal: Needed a single revision" });
  });
});

describe('request bodies decode as Go’s encoding/json does', () => {
  test('/vllm-unload matches MODEL_NAME case-insensitively (Go did; the reply is the Go one for nothing served)', async () => {
    expect(await post(bp, '/vllm-unload', '{"MODEL_NAME":"pre-train"}')).toEqual(goText(500, "Failed to unload model 'pre-train': no vllm container found with served-model-name 'pre-train'"));
    expect(await post(bp, '/vllm-unload', '{"model_name":"granite"}')).toEqual(goText(400, "Invalid model_name. Must be 'pre-train' or 'post-train'"));
    expect(await post(bp, '/vllm-unload', '')).toEqual(goText(400, 'Invalid request body'));
  });

  test('the later of two keys that fold alike wins; KELVIN SIGN folds to k; what follows the value is not read', async () => {
    const reply = await post(bp, '/model/train', `{"modelName":"models/nope","branchName":"main","MODELNAME":"${model}"} and then garbage`);
    expect(reply.status).toBe(200);
    expect((await getJob(bp, idOf(reply.body, 'job_id'))).args).toContain(`--model-path=${path.join(fake.models, 'granite-8b-starter-v1')}`);
    await fake.addCheckpoint('samples_1');
    expect(await post(bp, '/model/serve-latest', '{"chec\u212apoint":"samples_9"}')).toEqual(goText(400, "Checkpoint 'samples_9' does not exist"));
  });

  test('ints as Go parses them: 1.0, 1e1 and "1" are not ints; a wrong type is fatal even when a later key fixes it', async () => {
    for (const epochs of ['1.0', '1e1', '"1"', '9223372036854775808']) {
      expect(await post(bp, '/model/train', `{"modelName":"${model}","branchName":"main","epochs":${epochs}}`)).toEqual(goText(400, 'Invalid request body'));
    }
    expect(await post(bp, '/model/train', `{"modelName":"${model}","branchName":"main","epochs":"x","epochs":2}`)).toEqual(goText(400, 'Invalid request body'));
    expect(await post(bp, '/qna-eval', '{"model_path":"/etc","yaml_file":"x"} {')).toEqual(goText(400, 'Model path is outside the allowed directories: /etc'));
  });
});

describe('wire details', () => {
  test('/data: each byte of ilab’s output that is not UTF-8 is the escape \\ufffd, a real U+FFFD stays itself, byte for byte as Go', async () => {
    // What Python's print() writes for file names with undecodable bytes (surrogateescape): the raw bytes.
    const row = (name: Buffer, width: number) => Buffer.concat([Buffer.from('| '), name, Buffer.from(`${' '.repeat(width - charCount(name))} | General | 2025-01-28 05:38:26 | 1.00 KB   |\n`)]);
    const bad = Buffer.concat([Buffer.from('bad-'), Buffer.from([0xff, 0xe2, 0x82]), Buffer.from('.jsonl')]);
    const real = Buffer.from('real-\ufffd.jsonl');
    const width = Math.max(charCount(bad), charCount(real), 7);
    const border = `+${'-'.repeat(width + 2)}+---------+---------------------+-----------+\n`;
    const header = `| Dataset${' '.repeat(width - 7)} | Model   | Created At          | File size |\n`;
    const table = Buffer.concat([Buffer.from(`Run from 2025-01-28_021103\n${border}${header}${border}`), row(bad, width), row(real, width), Buffer.from(border)]);
    await fake.scenario({ version: '0.26', fail: { 'data list': { exitCode: 0, stdoutBase64: table.toString('base64') } } });
    try {
      const reply = await bp.request('/data');
      const bytes = Buffer.from(await reply.arrayBuffer());
      const entry = (name: string) => `{"dataset":"${name}","created_at":"2025-01-28 05:38:26","file_size":"1.00 KB"}`;
      expect(bytes.toString('latin1')).toBe(Buffer.from(`[${entry('bad-\\ufffd\\ufffd\\ufffd.jsonl')},${entry('real-\ufffd.jsonl')}]\n`).toString('latin1'));
    } finally {
      await fake.scenario({ version: '0.26' });
    }
  });

  test('/jobs: log_file is the Go server’s relative logs/<id>.log', async () => {
    const reply = await post(bp, '/data/generate');
    const id = idOf(reply.body, 'job_id');
    const listed = JSON.parse((await get(bp, '/jobs')).body).find((j: { job_id: string }) => j.job_id === id);
    expect(listed.log_file).toBe(`logs/${id}.log`);
    await waitForJob(bp, id);
  });
});

describe('the chat page’s routes speak for local ilab model serve jobs', () => {
  test('serve-base → /vllm-status loading/running, /served-model-jobids, /vllm-unload, stopped', async () => {
    expect(await get(bp, '/vllm-status?model_name=pre-train')).toEqual(goJson('{"status":"stopped"}'));
    const served = await post(bp, '/model/serve-base');
    const jobId = idOf(served.body, 'job_id');
    expect(['{"status":"loading"}\n', '{"status":"running"}\n']).toContain((await get(bp, '/vllm-status?model_name=PRE-TRAIN')).body);
    await waitForServing(bp, 'pre-train');
    expect(await get(bp, '/vllm-status?model_name=pre-train')).toEqual(goJson('{"status":"running"}'));
    expect(await get(bp, '/served-model-jobids')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', nosniff: null, body: `{"pre-train":"${jobId}"}\n` });
    expect(await post(bp, '/vllm-unload', { model_name: ' pre-train ' })).toEqual(goJson(`{"message":"Model 'pre-train' unloaded successfully","modelName":"pre-train","status":"success"}`));
    await waitForServerGone(bp, jobId);
    expect(await get(bp, '/vllm-status?model_name=pre-train')).toEqual(goJson('{"status":"stopped"}'));
    expect(await get(bp, '/served-model-jobids')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', nosniff: null, body: '{}\n' });
  });
});

describe('ilab’s own directories (ilab config show) and the paths ilab lists', () => {
  let elsewhere: FakeIlab;
  let moved: string;
  beforeAll(async () => {
    elsewhere = await createFakeIlab({ version: '0.26' });
    // ilab configured (XDG_CACHE_HOME) to keep its models on another disk than backplane's default.
    const cache = path.join(elsewhere.home, 'other-disk');
    moved = path.join(cache, 'instructlab', 'models');
    await mkdir(path.dirname(moved), { recursive: true });
    await cp(elsewhere.models, moved, { recursive: true });
    await rm(elsewhere.models, { recursive: true });
    await elsewhere.scenario({ version: '0.26', xdgCacheHome: cache });
  });
  afterAll(() => elsewhere.cleanup());

  test('by default the models directory is ilab’s: names resolve there (also without absolute paths, ilab 0.23)', async () => {
    const daemon = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await elsewhere.config() } } });
    try {
      const reply = await post(daemon, '/model/train', { modelName: model, branchName: 'main' });
      expect(reply.status).toBe(200);
      expect((await getJob(daemon, idOf(reply.body, 'job_id'))).args).toContain(`--model-path=${path.join(moved, 'granite-8b-starter-v1')}`);
      await elsewhere.scenario({ version: '0.23', xdgCacheHome: path.dirname(path.dirname(moved)) });
      await daemon.gql('mutation { refreshIlabModels { name } }');
      const old = await post(daemon, '/model/train', { modelName: 'instructlab/granite-7b-lab', branchName: 'main' });
      expect((await getJob(daemon, idOf(old.body, 'job_id'))).args).toContain(`--model-path=${path.join(moved, 'instructlab', 'granite-7b-lab')}`);
    } finally {
      await elsewhere.scenario({ version: '0.26', xdgCacheHome: path.dirname(path.dirname(moved)) });
      await daemon.stop();
    }
  });

  test('a model named as ilab listed it is trusted at the absolute path ilab printed, even outside modelsDir', async () => {
    const daemon = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await elsewhere.config({ modelsDir: elsewhere.models }) } } });
    try {
      const reply = await post(daemon, '/model/train', { modelName: model, branchName: 'main' });
      expect(reply.status).toBe(200);
      expect((await getJob(daemon, idOf(reply.body, 'job_id'))).args).toContain(`--model-path=${path.join(moved, 'granite-8b-starter-v1')}`);
      // A path the user typed is still confined to the configured directory.
      expect((await post(daemon, '/model/train', { modelName: path.join(moved, 'granite-8b-starter-v1'), branchName: 'main' })).status).toBe(400);
    } finally {
      await daemon.stop();
    }
  });
});

/** Characters as Python's len() counts a surrogateescape'd name: one per undecodable byte. */
function charCount(bytes: Buffer): number {
  let count = 0;
  for (let i = 0; i < bytes.length; ) {
    const text = bytes.subarray(i, i + 4).toString('utf8');
    const first = text.codePointAt(0)!;
    const size = first === 0xfffd && !bytes.subarray(i, i + 3).equals(Buffer.from('\ufffd')) ? 1 : Buffer.byteLength(String.fromCodePoint(first));
    count++;
    i += size;
  }
  return count;
}
