import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenForWorker } from '../../plugins/tinker/protocol/index.ts';
import { adamwStep, ADAM_DEFAULTS } from '../../plugins/tinker/tiny/adamw.ts';
import { TinyLM, tinyConfig } from '../../plugins/tinker/tiny/model.ts';
import { forwardBackward } from '../../plugins/tinker/tiny/ops.ts';
import { sample } from '../../plugins/tinker/tiny/sampling.ts';
import { report } from './lib/load.ts';

/**
 * The TinyLM worker: forward_backward + optim_step throughput over bwp/1 (real process, Unix
 * socket, JSON tensors) against the same math in process, and `sample` latency while a long
 * train_job runs against an idle worker and against one training step (samples must not queue
 * behind whole training steps).
 */
const entry = fileURLToPath(new URL('../../plugins/tinker/worker/tiny-worker.ts', import.meta.url));
const work = await mkdtemp(path.join(os.tmpdir(), 'bp-bench-tiny-'));
const text = 'the quick brown fox jumps over the lazy dog. '.repeat(12);
const seq = [...Buffer.from(text)].slice(0, 257);
const datum = {
  model_input: { chunks: [{ type: 'encoded_text' as const, tokens: seq.slice(0, -1) }] },
  loss_fn_inputs: { target_tokens: { data: seq.slice(1), dtype: 'int64' as const, shape: [seq.length - 1] } },
};
const batch = Array.from({ length: 8 }, () => datum);
const tokensPerStep = batch.length * (seq.length - 1);
const steps = 20;
const adam = { ...ADAM_DEFAULTS, learning_rate: 1e-3 };
const sampleParams = { max_tokens: 32, temperature: 1, top_p: 1, top_k: -1, seed: 1 };
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  // In process.
  const model = new TinyLM(tinyConfig({ rank: 8 }), 1);
  await forwardBackward(model, batch, 'cross_entropy', { backward: true });
  adamwStep(model, adam);
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await forwardBackward(model, batch, 'cross_entropy', { backward: true });
    adamwStep(model, adam);
  }
  const inProcess = (steps * tokensPerStep) / ((performance.now() - t0) / 1000);
  const inProcessSample: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s0 = performance.now();
    await sample(model, seq.slice(0, 8), 1, sampleParams, false);
    inProcessSample.push(performance.now() - s0);
  }

  // Over bwp/1.
  const socketPath = path.join(work, 'w.sock');
  let child: ReturnType<typeof spawn> | undefined;
  const worker = await listenForWorker(socketPath, { onListening: () => (child = spawn(process.execPath, [entry], { env: { ...process.env, BACKPLANE_WORKER_SOCKET: socketPath }, stdio: 'ignore' })) });
  await worker.request('create_model', { model_id: 'm', base_model: 'tiny-lm', lora_config: { rank: 8 }, seed: 1 });
  await worker.request('forward_backward', { model_id: 'm', data: batch, loss_fn: 'cross_entropy' });
  await worker.request('optim_step', { model_id: 'm', adam_params: adam });
  t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await worker.request('forward_backward', { model_id: 'm', data: batch, loss_fn: 'cross_entropy' });
    await worker.request('optim_step', { model_id: 'm', adam_params: adam });
  }
  const overSocket = (steps * tokensPerStep) / ((performance.now() - t0) / 1000);
  report('tiny fb+step over bwp/1 (8×256 tokens, r=8)', { tokens_per_s: overSocket });
  report('  in process, same math', { tokens_per_s: inProcess });
  report('  ratio (aim >= 0.8)', { ratio: overSocket / inProcess });

  const sampleOnce = async () => {
    const s0 = performance.now();
    await worker.request('sample', { model_id: 'm', prompt_tokens: seq.slice(0, 8), num_samples: 1, sampling_params: sampleParams });
    return performance.now() - s0;
  };
  const idle: number[] = [];
  for (let i = 0; i < 10; i++) idle.push(await sampleOnce());
  const dataset = path.join(work, 'd.jsonl');
  await writeFile(dataset, Array.from({ length: 200 }, () => JSON.stringify({ text })).join('\n'));
  const controller = new AbortController();
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const job = worker.request(
    'train_job',
    { job_id: 'b', spec: { training_type: 'qlora', base_model: 'tiny-lm', epochs: 100, batch_size: 8, max_seq_length: 256 }, dataset_path: dataset, output_dir: path.join(work, 'out') },
    { signal: controller.signal, onProgress: () => started() },
  ).catch(() => {});
  await running;
  const busy: number[] = [];
  for (let i = 0; i < 10; i++) busy.push(await sampleOnce());
  controller.abort();
  await job;
  report('sample 32 tokens during a train_job (p50)', { ms: p50(busy) });
  report('  idle worker (p50)', { ms: p50(idle) });
  report('  in process (p50)', { ms: p50(inProcessSample) });
  // A sample waits for at most one 256-token slice of training, never a whole step.
  const stepMs = (tokensPerStep / overSocket) * 1000;
  report('  one training step (8×256 tokens)', { ms: stepMs });
  report('  ratio busy sample / step (aim <= 0.5)', { ratio: p50(busy) / stepMs });

  await worker.request('shutdown', { grace_ms: 1000 });
  if (child && child.exitCode === null) await once(child, 'exit');
} finally {
  await rm(work, { recursive: true, force: true });
}
