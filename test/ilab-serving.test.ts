import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, type ServingInstance, type ServingStartSpec } from '../core/plugin-api.ts';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { goJson, goText, post, startIlabTestDaemon } from './fixtures/ilab/ilab-test-kit.ts';
import type { TestDaemon } from './helpers/test-daemon.ts';

/** A serving backend with id `vllm`, as the vllm-podman plugin registers one, kept in memory. */
function fakeVllm() {
  const started: ServingStartSpec[] = [];
  const instances = new Map<string, ServingInstance>();
  const plugin = definePlugin({
    id: 'test-vllm',
    version: '1.0.0',
    init({ serving }) {
      serving.register({
        id: 'vllm',
        async start(spec) {
          started.push(spec);
          // A slow container start, so that two clicks overlap.
          await new Promise((resolve) => setImmediate(resolve));
          const instance: ServingInstance = { name: spec.name, backend: 'vllm', status: 'loading', port: spec.port, modelPath: spec.modelPath, jobId: `v-${started.length}`, startedAt: new Date(), message: undefined };
          instances.set(spec.name, instance);
          return instance;
        },
        async stop(name) {
          const instance = instances.get(name);
          instances.delete(name);
          return instance && { ...instance, status: 'stopped' };
        },
        get: async (name) => instances.get(name),
        list: async () => [...instances.values()],
      });
    },
  });
  return { plugin, started, instances };
}

describe('servingBackend: vllm', () => {
  let fake: FakeIlab;
  let bp: TestDaemon;
  let ports: { base: number; latest: number };
  const vllm = fakeVllm();
  beforeAll(async () => {
    fake = await createFakeIlab();
    const config = await fake.config({ servingBackend: 'vllm' });
    ports = config.ports as typeof ports;
    bp = await startIlabTestDaemon({ plugins: [vllm.plugin, ilabPlugin], config: { plugins: { ilab: config } } });
  });
  afterAll(async () => {
    try {
      await bp.stop();
    } finally {
      await fake.cleanup();
    }
  });

  test('serve-base starts pre-train once: two overlapping clicks give one container and already_running', async () => {
    const [a, b] = await Promise.all([post(bp, '/model/serve-base'), post(bp, '/model/serve-base')]);
    const replies = [a, b].sort((x, y) => x.body.length - y.body.length);
    expect(replies[0]).toEqual(goJson('{"job_id":"v-1","status":"vllm container started"}'));
    expect(replies[1]).toEqual(goJson(`{"job_id":"v-1","message":"Model 'pre-train' is already being served.","status":"already_running"}`));
    expect(vllm.started).toEqual([
      { name: 'pre-train', modelPath: path.join(fake.models, 'granite-8b-starter-v1'), port: ports.base, gpus: { count: 1 }, labels: { origin: 'ilab' } },
    ]);
  });

  test('serve-latest serves the newest checkpoint as post-train on the latest port', async () => {
    await fake.addCheckpoint('samples_128');
    await fake.addCheckpoint('samples_1024');
    expect(await post(bp, '/model/serve-latest', {})).toEqual(goJson('{"job_id":"v-2","status":"vllm container started"}'));
    expect(vllm.started[1]).toMatchObject({ name: 'post-train', modelPath: path.join(fake.checkpoints, 'samples_1024'), port: ports.latest });
  });

  test('ilabServedModels and stopIlabServedModel go through the backend', async () => {
    const { data } = await bp.gql('{ ilabServedModels { name backend status jobId modelPath } }');
    expect(data.ilabServedModels).toEqual([
      { name: 'pre-train', backend: 'vllm', status: 'loading', jobId: 'v-1', modelPath: path.join(fake.models, 'granite-8b-starter-v1') },
      { name: 'post-train', backend: 'vllm', status: 'loading', jobId: 'v-2', modelPath: path.join(fake.checkpoints, 'samples_1024') },
    ]);
    const stopped = await bp.gql('mutation { stopIlabServedModel(name: "pre-train") { name status } }');
    expect(stopped.data.stopIlabServedModel).toEqual({ name: 'pre-train', status: 'stopped' });
    expect(vllm.instances.has('pre-train')).toBe(false);
  });
});

test('servingBackend: vllm without the vllm-podman plugin: UNAVAILABLE, a 500 with a clear message', async () => {
  const fake = await createFakeIlab();
  const bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config({ servingBackend: 'vllm', baseModel: 'models/granite-8b-starter-v1' }) } } });
  try {
    const message = 'The vLLM serving backend is not available: enable the vllm-podman plugin, or set plugins.ilab.servingBackend: local';
    expect(await post(bp, '/model/serve-base')).toEqual(goText(500, message));
    expect((await bp.gql('mutation { serveIlabBase { jobId } }')).errors?.[0]).toMatchObject({ message, extensions: { code: 'UNAVAILABLE' } });
  } finally {
    await bp.stop();
    await fake.cleanup();
  }
});
