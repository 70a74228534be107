import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { textDatum, TinkerSdk } from '../../test/helpers/tinker-sdk.ts';
import { listenForWorker } from '../../plugins/tinker/protocol/index.ts';
import { adamwStep, ADAM_DEFAULTS } from '../../plugins/tinker/tiny/adamw.ts';
import { TinyLM, tinyConfig } from '../../plugins/tinker/tiny/model.ts';
import { forwardBackward } from '../../plugins/tinker/tiny/ops.ts';
import { report } from './lib/load.ts';
import { spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The tinker plugin, in one run against its baselines:
 * 1. future round trip (submit `forward` + `retrieve_future` through REST, GraphQL, the ordered
 *    queue and the worker) against the same `forward` sent straight to a TS worker's socket;
 * 2. training steps/s (forward_backward + optim_step) through the API against TinyLM in process;
 * 3. sample latency on a sampler while a long training op of its model runs, against idle.
 */
const entry = fileURLToPath(new URL('../../plugins/tinker/worker/tiny-worker.ts', import.meta.url));
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const small = [textDatum('hello world')];
const batch = Array.from({ length: 8 }, (_, i) => textDatum(`the quick brown fox ${i} jumps over the lazy dog`));
const adam = { ...ADAM_DEFAULTS, learning_rate: 1e-3 };
const rounds = 200;
const steps = 40;

const bp = await spawnBenchDaemon({});
const work = await mkdtemp(path.join(os.tmpdir(), 'bp-bench-tinker-'));
try {
  const sdk = new TinkerSdk(bp.url);
  await sdk.createSession();
  const model = await sdk.createModel({ rank: 8, train_mlp: true, train_attn: true, train_unembed: true });

  // 1. Future round trip.
  for (let i = 0; i < 20; i++) await sdk.forward(model, small, 'cross_entropy');
  const api: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await sdk.forward(model, small, 'cross_entropy');
    api.push(performance.now() - t0);
  }
  const socketPath = path.join(work, 'w.sock');
  let child: ReturnType<typeof spawn> | undefined;
  const worker = await listenForWorker(socketPath, { onListening: () => (child = spawn(process.execPath, [entry], { env: { ...process.env, BACKPLANE_WORKER_SOCKET: socketPath }, stdio: 'ignore' })) });
  await worker.request('create_model', { model_id: 'm', base_model: 'tiny-lm', lora_config: { rank: 8 } });
  const direct: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const t0 = performance.now();
    await worker.request('forward', { model_id: 'm', data: small as never, loss_fn: 'cross_entropy' });
    if (i >= 20) direct.push(performance.now() - t0);
  }
  report('tinker future round trip (forward, 1 datum)', { p50_ms: p50(api) });
  report('  the TS worker over its socket, directly', { p50_ms: p50(direct) });
  report('  overhead of the API (ms at p50)', { ms: p50(api) - p50(direct), ratio: p50(direct) / p50(api) });

  // 2. Training steps/s.
  await sdk.forwardBackward(model, batch, 'cross_entropy');
  await sdk.optimStep(model, { learning_rate: 1e-3 });
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await sdk.forwardBackward(model, batch, 'cross_entropy');
    await sdk.optimStep(model, { learning_rate: 1e-3 });
  }
  const apiSteps = steps / ((performance.now() - t0) / 1000);
  const local = new TinyLM(tinyConfig({ rank: 8 }), 1);
  const nested = batch as never;
  await forwardBackward(local, nested, 'cross_entropy', { backward: true });
  adamwStep(local, adam);
  t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await forwardBackward(local, nested, 'cross_entropy', { backward: true });
    adamwStep(local, adam);
  }
  const localSteps = steps / ((performance.now() - t0) / 1000);
  report('tinker fb+step through the API (8 datums)', { steps_per_s: apiSteps });
  report('  TinyLM in process, same batch', { steps_per_s: localSteps });
  report('  ratio', { ratio: apiSteps / localSteps });

  // 3. Sample latency with a training op running on the same model.
  const sampler = (await sdk.saveWeightsForSampler(model)).sampling_session_id!;
  const params = { max_tokens: 16, temperature: 1, seed: 1 };
  const prompt = [...Buffer.from('the ')];
  for (let i = 0; i < 5; i++) await sdk.sample(sampler, prompt, params);
  const idle: number[] = [];
  for (let i = 0; i < 30; i++) {
    const s0 = performance.now();
    await sdk.sample(sampler, prompt, params);
    idle.push(performance.now() - s0);
  }
  const big = Array.from({ length: 1500 }, (_, i) => textDatum(`${i} the quick brown fox jumps over the lazy dog, again and again`));
  sdk.chunkSize = 4096;
  const training = sdk.forwardBackward(model, big, 'cross_entropy');
  const busy: number[] = [];
  let finished = false;
  void training.then(() => (finished = true));
  while (!finished && busy.length < 30) {
    const s0 = performance.now();
    await sdk.sample(sampler, prompt, params);
    busy.push(performance.now() - s0);
  }
  const trainingMs = await (async () => {
    const s0 = performance.now();
    await training;
    return performance.now() - s0;
  })();
  report('tinker sample latency, training op running', { p50_ms: p50(busy), samples: busy.length, training_left_ms: trainingMs });
  report('  idle sampler', { p50_ms: p50(idle) });
  report('  ratio (aim ~1: never behind training)', { ratio: p50(idle) / p50(busy) });

  worker.close();
  child?.kill('SIGKILL');
} finally {
  await bp.stop();
  await rm(work, { recursive: true, force: true });
}
