import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin, type GpuService } from '../core/plugin-api.ts';
import { tinkerPlugin } from '../plugins/tinker/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { idleGpu } from './helpers/test-gpus.ts';
import { textDatum, TinkerSdk } from './helpers/tinker-sdk.ts';

/** This machine has no GPU: a stand-in inventory (as nvidia-smi reports it) lets the leases be real. */
const gpus = [0, 1].map(idleGpu);
let leases: GpuService | undefined;
const fakeGpus = definePlugin({
  id: 'tinker-test-gpus',
  version: '1.0.0',
  init({ gpuInventory, gpus: service }) {
    leases = service;
    gpuInventory.provide({ id: 'tinker-test-gpus', current: () => gpus, refresh: async () => gpus, freeMemoryMiB: 100 });
  },
});

describe('tinker workers hold GPU leases from the core', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [fakeGpus, tinkerPlugin], config: { plugins: { tinker: { gpusPerWorker: 1 } } } });
  });
  afterAll(() => bp?.stop());

  test('each worker leases a GPU (CUDA_VISIBLE_DEVICES), delete_model ends the lease; no free GPU fails the create', async () => {
    const sdk = new TinkerSdk(bp.url);
    await sdk.createSession();
    const a = await sdk.createModel();
    const b = await sdk.createModel();
    const workers = (await bp.gql('{ tinkerWorkers { pid gpus units } }')).data.tinkerWorkers;
    expect(workers.map((w: any) => w.gpus[0]).sort()).toEqual([0, 1]);
    for (const w of workers) {
      const env = (await readFile(`/proc/${w.pid}/environ`, 'utf8')).split('\0');
      expect(env).toContain(`CUDA_VISIBLE_DEVICES=${w.gpus[0]}`);
    }
    expect(leases!.leases().map((l) => [l.owner, l.holder.kind, l.indices.length])).toEqual([
      ['tinker', 'server', 1],
      ['tinker', 'server', 1],
    ]);

    // Both GPUs taken: a third model fails with a clear server error instead of waiting forever.
    const third = await sdk.post('create_model', { session_id: sdk.sessionId, model_seq_id: 9, base_model: 'tiny-lm', lora_config: { rank: 4 } });
    await expect(sdk.retrieve(third.request_id)).rejects.toMatchObject({ category: 'server' });

    expect(await sdk.post('delete_model', { model_id: a })).toEqual({ status: 'deleted', model_id: a });
    expect(leases!.leases()).toHaveLength(1);
    await sdk.post('delete_model', { model_id: b });
    expect(leases!.leases()).toEqual([]);
  });
});

describe('workerPer: gpu shares workers once the GPUs are leased', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [fakeGpus, tinkerPlugin], config: { plugins: { tinker: { gpusPerWorker: 1, workerPer: 'gpu', maxWorkers: 4 } } } });
  });
  afterAll(() => bp?.stop());

  test('three models on two GPUs: two workers, one holding two models; they train independently', async () => {
    const sdk = new TinkerSdk(bp.url);
    await sdk.createSession();
    const models = [await sdk.createModel(), await sdk.createModel(), await sdk.createModel()];
    const workers = (await bp.gql('{ tinkerWorkers { gpus units } }')).data.tinkerWorkers;
    expect(workers.map((w: any) => w.units.length).sort()).toEqual([1, 2]);
    expect(workers.flatMap((w: any) => w.gpus).sort()).toEqual([0, 1]);
    for (const m of models) {
      await sdk.forwardBackward(m, [textDatum('shared worker')], 'cross_entropy');
      expect((await sdk.optimStep(m)).step_count).toBe(1);
    }
  });
});
