import { afterAll, beforeAll, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { getJob, post, startIlabTestDaemon, waitForJob, waitForServerGone, waitForServing } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';
import { idleGpu } from './helpers/test-gpus.ts';

/** One idle GPU (0 % utilization in every sample). */
const oneGpu = definePlugin({
  id: 'test-gpus',
  version: '1.0.0',
  init: ({ gpuInventory }) => gpuInventory.provide({ id: 'test-gpus', current: () => [idleGpu(0)], refresh: async () => [idleGpu(0)], freeMemoryMiB: 100 }),
});

let fake: FakeIlab;
let bp: TestDaemon;
beforeAll(async () => {
  fake = await createFakeIlab({ version: '0.26' });
  // Idle at once, so the test need not wait out the default 15 minutes.
  bp = await startIlabTestDaemon({ plugins: [oneGpu, ilabPlugin], config: { plugins: { ilab: await fake.config({ serveIdleMinutes: 0 }) } } });
});
afterAll(async () => {
  try {
    await bp.stop();
  } finally {
    await fake.cleanup();
  }
});

test('an idle local server shows its GPU lease, and a train that needs the GPU stops it first', async () => {
  const served = JSON.parse((await post(bp, '/model/serve-base')).body).job_id as string;
  await waitForServing(bp, 'pre-train');
  // The lease's holder is the server's job (the nvidia-smi plugin's gpuLeases shows it too).
  const { data, errors } = await bp.gql(`{ ilabServedModel(name: "pre-train") { jobId gpus idleSince reclaimable } job(id: "${served}") { gpus } }`);
  expect(errors).toBeUndefined();
  expect(data.ilabServedModel).toMatchObject({ jobId: served, gpus: [0], reclaimable: true });
  expect(Date.parse(data.ilabServedModel.idleSince)).not.toBeNaN();
  expect(data.job.gpus).toEqual([0]);

  const train = JSON.parse((await post(bp, '/model/train', { modelName: 'models/granite-8b-starter-v1', branchName: 'main' })).body).job_id as string;
  const server = await waitForServerGone(bp, served);
  expect(server.log).toContain('Stopping this model server: its GPU(s) 0 are needed by a training job (model models/granite-8b-starter-v1)');
  const trained = await waitForJob(bp, train);
  expect(trained.status).toBe('succeeded');
  expect((await bp.gql(`{ job(id: "${train}") { gpus } }`)).data.job.gpus).toEqual([0]);
  expect((await getJob(bp, served)).status).toBe('cancelled');
});

test('a busy server keeps its GPU (not reclaimable): the train waits for it', async () => {
  const daemon = await startIlabTestDaemon({ plugins: [oneGpu, ilabPlugin], config: { plugins: { ilab: await fake.config({ serveIdleMinutes: 60 }) } } });
  try {
    await post(daemon, '/model/serve-base');
    await waitForServing(daemon, 'pre-train');
    const { data } = await daemon.gql('{ ilabServedModel(name: "pre-train") { gpus reclaimable } }');
    expect(data.ilabServedModel).toEqual({ gpus: [0], reclaimable: false });
    const train = JSON.parse((await post(daemon, '/model/train', { modelName: 'models/granite-8b-starter-v1', branchName: 'main' })).body).job_id as string;
    expect((await daemon.gql(`{ job(id: "${train}") { status } }`)).data.job.status).toBe('queued');
    await post(daemon, '/vllm-unload', { model_name: 'pre-train' });
    expect((await waitForJob(daemon, train)).status).toBe('succeeded');
  } finally {
    await daemon.stop();
  }
});
