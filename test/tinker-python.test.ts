import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinkerPlugin } from '../plugins/tinker/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { textDatum, TinkerSdk } from './helpers/tinker-sdk.ts';

/** The same API on the PyTorch worker (`worker.kind: python`), when Debian's python3-torch is installed. */
function hasTorch(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasTorch())('tinker on the PyTorch worker (python3-torch, CPU)', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [tinkerPlugin], config: { plugins: { tinker: { worker: { kind: 'python', startTimeoutMs: 60_000 } } } } });
  });
  afterAll(() => bp?.stop());

  test('a fine-tune whose loss falls, a checkpoint that reloads to the same logprobs, sampling', async () => {
    const sdk = new TinkerSdk(bp.url, { chunkSize: 2 });
    await sdk.createSession();
    const model = await sdk.createModel({ rank: 4, seed: 1, train_mlp: true, train_attn: true, train_unembed: true });
    const workers = (await bp.gql('{ tinkerWorkers { backend units } }')).data.tinkerWorkers;
    expect(workers.find((w: any) => w.units.includes(model)).backend).toBe('torch');
    const data = ['hello world', 'hello there', 'the world'].map((t) => textDatum(t));
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      losses.push((await sdk.forwardBackward(model, data, 'cross_entropy')).metrics['loss:sum']);
      await sdk.optimStep(model, { learning_rate: 0.05 });
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    const ckpt = await sdk.saveState(model, 'torch-10');
    const expected = (await sdk.forward(model, data, 'cross_entropy')).loss_fn_outputs.flatMap((o) => o.logprobs.data);
    const future = await sdk.post('create_model', { session_id: sdk.sessionId, model_seq_id: 5, base_model: 'tiny-lm', checkpoint_path: ckpt });
    const restored = (await sdk.retrieve(future.request_id)).model_id;
    const got = (await sdk.forward(restored, data, 'cross_entropy')).loss_fn_outputs.flatMap((o) => o.logprobs.data);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    const sampler = (await sdk.saveWeightsForSampler(model)).sampling_session_id!;
    const out = await sdk.sample(sampler, [104], { max_tokens: 4, temperature: 0 });
    expect(out.sequences[0].tokens.length).toBeGreaterThan(0);
  });
});
