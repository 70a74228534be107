import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { vllmPodmanPlugin } from '../plugins/vllm-podman/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { podmanTestsAvailable, startPodmanEnv, waitFor, type PodmanEnv } from './helpers/podman-env.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

/**
 * The InstructLab UI's serving flow end to end, the way its Next.js proxies call it: ilab's
 * serve routes in vLLM mode start real podman containers (the fake vLLM image) through the
 * vllm-podman plugin, and the UI polls /vllm-status until it can chat.
 */
describe.skipIf(!podmanTestsAvailable())('ilab-ui serving through vLLM in real podman', () => {
  let env: PodmanEnv;
  let fake: FakeIlab;
  let bp: TestDaemon;
  let ports: { base: number; latest: number };

  const status = async (name: string) => (await (await bp.request(`/vllm-status?model_name=${name}`)).json()).status as string;
  const post = (route: string, body?: unknown) => bp.request(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    env = await startPodmanEnv();
    fake = await createFakeIlab();
    // The fake vLLM reads how to behave from the model directory it is given.
    await writeFile(path.join(fake.models, 'granite-8b-starter-v1', 'fake-vllm.json'), JSON.stringify({ loadMs: 300 }));
    const ilab = await fake.config({ servingBackend: 'vllm' });
    ports = ilab.ports as typeof ports;
    bp = await startTestDaemon({
      plugins: [vllmPodmanPlugin, ilabPlugin],
      // No modelRoots for vllm-podman: its defaults (~/.cache/instructlab/…) do not hold the fake's
      // models; ilab declares its own directories (plugins.ilab.homeDir) through the serving registry.
      config: { plugins: { ilab, 'vllm-podman': { deviceMode: 'none', probeIntervalMs: 100, reconcileIntervalMs: 600_000, stopTimeoutSeconds: 5 } } },
    });
  });

  afterAll(async () => {
    await bp?.stop();
    const left = await env?.containers();
    await env?.cleanup();
    await fake?.cleanup();
    expect(left).toEqual([]);
  });

  test('serve-base: one container, loading → running, then already_running; unload stops it', async () => {
    expect(await status('pre-train')).toBe('stopped');
    const started = await post('/model/serve-base');
    expect(started.status).toBe(200);
    const body = await started.text();
    const { job_id: jobId } = JSON.parse(body);
    expect(body).toBe(`{"job_id":"${jobId}","status":"vllm container started"}\n`);
    expect(jobId).toMatch(/^v-\d+$/);

    await waitFor('pre-train running', async () => ((await status('pre-train')) === 'running' ? true : undefined));
    const models = await (await fetch(`http://127.0.0.1:${ports.base}/v1/models`)).json();
    expect(models.data[0]).toMatchObject({ id: 'pre-train', root: path.join(fake.models, 'granite-8b-starter-v1') });

    const again = await (await post('/model/serve-base')).text();
    expect(again).toBe(`{"job_id":"${jobId}","message":"Model 'pre-train' is already being served.","status":"already_running"}\n`);

    const containers = await (await bp.request('/vllm-containers')).json();
    expect(containers.containers).toEqual([expect.objectContaining({ served_model_name: 'pre-train', model_path: path.join(fake.models, 'granite-8b-starter-v1') })]);
    expect(await (await bp.request('/served-model-jobids')).text()).toBe(`{"pre-train":"${jobId}"}\n`);
    const jobs = (await (await bp.request('/jobs')).json()) as { job_id: string; cmd: string; served_model_name: string; status: string }[];
    expect(jobs.find((j) => j.job_id === jobId)).toMatchObject({ cmd: 'podman', served_model_name: 'pre-train', status: 'running' });

    const unload = await post('/vllm-unload', { model_name: 'pre-train' });
    expect(await unload.text()).toBe(`{"message":"Model 'pre-train' unloaded successfully","modelName":"pre-train","status":"success"}\n`);
    await waitFor('pre-train stopped', async () => ((await status('pre-train')) === 'stopped' ? true : undefined));
    expect(await env.containers()).toEqual([]);
  });

  test('serve-latest serves the newest checkpoint as post-train on its port', async () => {
    const checkpoint = await fake.addCheckpoint('samples_640');
    await writeFile(path.join(checkpoint, 'fake-vllm.json'), JSON.stringify({ loadMs: 200 }));
    const started = await post('/model/serve-latest', {});
    expect(started.status).toBe(200);
    expect((await started.json()).status).toBe('vllm container started');
    await waitFor('post-train running', async () => ((await status('post-train')) === 'running' ? true : undefined));
    const models = await (await fetch(`http://127.0.0.1:${ports.latest}/v1/models`)).json();
    expect(models.data[0]).toMatchObject({ id: 'post-train', root: checkpoint });
    await post('/vllm-unload', { model_name: 'post-train' });
    await waitFor('post-train stopped', async () => ((await status('post-train')) === 'stopped' ? true : undefined));
  });
});
