import { afterAll, beforeAll, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { freePort } from './fixtures/ilab/fake-ilab-env.ts';
import { get, getJob, label, post, startIlabTestDaemon, waitForJob, waitForServerGone, waitForServing } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';

let bp: TestDaemon;
let latestPort: number;
beforeAll(async () => {
  latestPort = await freePort();
  bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: { mode: 'mock', mock: { stepMs: 5 }, ports: { base: await freePort(), latest: latestPort } } } } });
});
afterAll(() => bp.stop());

test('mock mode is reported in Query.plugins and needs no ilab', async () => {
  expect((await bp.gql('{ plugins { id status message } }')).data.plugins).toEqual([
    { id: 'ilab', status: 'ready', message: 'mock mode: ilab commands run the bundled simulator (no GPUs or InstructLab needed)' },
  ]);
});

test('the simulator’s model list: seeded models at realistic sizes, in the 4-column format', async () => {
  const models = JSON.parse((await get(bp, '/models')).body);
  expect(models.map((m: { name: string; size: string }) => [m.name, m.size])).toEqual([
    ['granite-7b-lab-Q4_K_M.gguf', '3.8 GB'],
    ['instructlab/granite-7b-lab', '12.6 GB'],
    ['models/granite-8b-starter-v1', '15.2 GB'],
    ['models/mixtral-8x7b-instruct-v0-1', '87.0 GB'],
  ]);
});

test('generate → train pipeline on a branch of the seeded taxonomy, then serve the checkpoint and chat with it', async () => {
  const reply = await post(bp, '/pipeline/generate-train', { modelName: 'models/granite-8b-starter-v1', branchName: 'demo/knowledge-update', epochs: 2 });
  expect(reply.status).toBe(200);
  const pipeline = await waitForJob(bp, JSON.parse(reply.body).pipeline_job_id);
  expect(pipeline.status).toBe('succeeded');
  expect(label(pipeline, 'mode')).toBe('mock');
  const [g, t] = await Promise.all(pipeline.children.map((c) => getJob(bp, c.id)));
  expect(label(g, 'mode')).toBe('mock');
  expect(g.log).toMatch(/^INFO \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} instructlab\.data\.generate_data:204: Generating synthetic data using 'full' pipeline/);
  expect(g.log).toContain('Generated 90 samples');
  expect(t.log).toContain('\u001b[92mOperation completed successfully! 🎉\u001b[0m');
  expect(t.log).toMatch(/Epoch 1: 100%\|██████████\| 4\/4/);

  expect(JSON.parse((await get(bp, '/checkpoints')).body)).toEqual(['samples_1024', 'samples_512']);
  expect(JSON.parse((await get(bp, '/data')).body)[0].dataset).toMatch(/^\d{4}-\d\d-\d\d_\d{6}\/knowledge_train_msgs_/);

  const served = JSON.parse((await post(bp, '/model/serve-latest', {})).body);
  expect(served.status).toBe('model process started');
  await waitForServing(bp, 'post-train');
  const chat = await fetch(`http://127.0.0.1:${latestPort}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'post-train', messages: [{ role: 'user', content: 'Hello?' }] }) });
  expect((await chat.json()).choices[0].message.content).toBe('This is a simulated answer from samples_1024 (backplane ilab mock mode). You asked: Hello?');
  // The UI's chat page polls /vllm-status and unloads through /vllm-unload, in mock mode too.
  expect(await get(bp, '/vllm-status?model_name=post-train')).toMatchObject({ status: 200, body: '{"status":"running"}\n' });
  expect(await get(bp, '/served-model-jobids')).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8', body: `{"post-train":"${served.job_id}"}\n` });
  expect(await post(bp, '/vllm-unload', { model_name: 'post-train' })).toMatchObject({ status: 200, body: `{"message":"Model 'post-train' unloaded successfully","modelName":"post-train","status":"success"}\n` });
  expect((await waitForServerGone(bp, served.job_id)).log).toContain('INFO:     Shutting down');
  expect(await get(bp, '/vllm-status?model_name=post-train')).toMatchObject({ status: 200, body: '{"status":"stopped"}\n' });
});
