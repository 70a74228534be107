import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../core/plugin-api.ts';
import { vllmPodmanPlugin } from '../plugins/vllm-podman/index.ts';
import { createModelRoot, freePort, podmanTestsAvailable, startPodmanEnv, type PodmanEnv } from './helpers/podman-env.ts';
import { idleGpu } from './helpers/test-gpus.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const gpu = idleGpu;

/** Two idle GPUs, as the nvidia-smi plugin would report them (this machine has none), and a way to hold one. */
const fakeGpusPlugin = definePlugin({
  id: 'fake-gpus',
  version: '1.0.0',
  init: ({ gpus, gpuInventory }) => {
    const inventory = [gpu(0), gpu(1)];
    gpuInventory.provide({ id: 'fake', current: () => inventory, refresh: async () => inventory, freeMemoryMiB: 100 });
    return { gpus };
  },
  schema(builder, { api }) {
    builder.mutationField('holdGpu', (t) =>
      t.string({ args: { index: t.arg.int({ required: true }) }, resolve: async (_r, { index }, ctx) => (await api(ctx).gpus.acquire({ indices: [index], holder: { kind: 'job', id: 'test-holder' }, wait: false })).id }),
    );
  },
});

describe.skipIf(!podmanTestsAvailable())('vllm-podman GPUs through CDI, with real podman and no GPU', () => {
  let env: PodmanEnv;
  let models: Awaited<ReturnType<typeof createModelRoot>>;
  let bp: TestDaemon;

  beforeAll(async () => {
    env = await startPodmanEnv();
    models = await createModelRoot({ base: { loadMs: 100 } });
    bp = await startTestDaemon({
      plugins: [fakeGpusPlugin, vllmPodmanPlugin],
      config: { plugins: { 'vllm-podman': { modelRoots: [models.root], deviceMode: 'cdi', reconcileIntervalMs: 600_000 } } },
    });
  });

  afterAll(async () => {
    await bp?.stop();
    const left = await env?.containers();
    await env?.cleanup();
    await models?.cleanup();
    expect(left).toEqual([]);
  });

  test('leased GPUs become --device nvidia.com/gpu=<i>; podman refuses them here, and everything is released', async () => {
    const result = await bp.gql('mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { name } }', {
      i: { name: 'pre-train', modelPath: models.path('base'), port: await freePort(), gpuIndices: [1] },
    });
    expect(result.errors?.[0].extensions?.code).toBe('BACKEND_ERROR');
    // podman's stderr is in the server job's log, never in the error message.
    expect(result.errors?.[0].message).toBe('podman run failed with exit code 126');

    const failed = (await bp.gql('{ vllmServer(name: "pre-train") { status message gpus jobId } }')).data.vllmServer;
    expect(failed).toMatchObject({ status: 'failed', message: 'podman run failed with exit code 126', gpus: [1] });
    const job = (await bp.gql('query($id: ID!) { job(id: $id) { status args log } }', { id: failed.jobId })).data.job;
    expect(job.status).toBe('failed');
    expect(job.log).toContain('unresolvable CDI devices nvidia.com/gpu=1');
    const devices = job.args.flatMap((arg: string, i: number) => (arg === '--device' ? [job.args[i + 1]] : []));
    expect(devices).toEqual(['nvidia.com/gpu=1']);
    // The argv carries the devices before `--` and the image.
    expect(job.args.indexOf('--device')).toBeLessThan(job.args.indexOf('--'));
    // podman leaves a `Created` container behind after a CDI failure; the plugin removes it.
    expect(await env.containers()).toEqual([]);
  });

  test('two GPUs by count, then a busy GPU is a CONFLICT before podman runs', async () => {
    // Both GPUs are free again: the failed run above released its lease.
    const two = await bp.gql('mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { name } }', {
      i: { name: 'post-train', modelPath: models.path('base'), port: await freePort(), gpuCount: 2, args: ['--tensor-parallel-size', '2'] },
    });
    expect(two.errors?.[0].message).toBe('podman run failed with exit code 126');
    const tooMany = await bp.gql('mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { name } }', {
      i: { name: 'post-train', modelPath: models.path('base'), port: await freePort(), gpuCount: 3 },
    });
    expect(tooMany.errors?.[0]).toMatchObject({ message: 'Cannot lease 3 GPU(s): this host has 2', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await bp.gql('mutation { holdGpu(index: 0) }')).errors).toBeUndefined();
    const busy = await bp.gql('mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { name } }', {
      i: { name: 'post-train', modelPath: models.path('base'), port: await freePort(), gpuIndices: [0] },
    });
    expect(busy.errors?.[0]).toMatchObject({ message: 'The requested GPU(s) are busy', extensions: { code: 'CONFLICT' } });
    expect(await env.containers()).toEqual([]);
  });
});
