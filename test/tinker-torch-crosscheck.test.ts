/**
 * Cross-check of the two bwp/1 TinyLM implementations: the TypeScript worker
 * (plugins/tinker/worker/tiny-worker.ts, hand-written backprop) and the Python worker
 * (workers/python/backplane_worker, PyTorch autograd in float64). Both run as real child
 * processes on real Unix sockets. The same TS training checkpoint is loaded into both; then
 * every loss of training-apis §2.6 is run on the same data and the losses, logprobs and every
 * accumulated gradient tensor must agree to 1e-5, one AdamW step must give the same weights,
 * and greedy (top_k=1) sampling the same tokens. A Python-written checkpoint must load in TS.
 *
 * Runs when /usr/bin/python3 can `import torch`; in CI (`$CI` set) a missing torch FAILS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForWorker, type Datum, type LossFn, type MethodParamsInput, type WorkerConnection } from '../plugins/tinker/protocol/index.ts';

const PYTHON = '/usr/bin/python3';
const WORKERS_DIR = fileURLToPath(new URL('../workers/python', import.meta.url));
const TINY_WORKER = fileURLToPath(new URL('../plugins/tinker/worker/tiny-worker.ts', import.meta.url));
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const TOLERANCE = 1e-5;

/** Spawns `argv` as a bwp/1 worker on `socketPath` and waits for its hello. */
async function spawnWorker(socketPath: string, argv: string[], env: Record<string, string>): Promise<{ connection: WorkerConnection; child: ChildProcess }> {
  let child!: ChildProcess;
  let output = '';
  const abort = new AbortController();
  const connection = await listenForWorker(socketPath, {
    signal: abort.signal,
    helloTimeoutMs: 30_000,
    onListening: () => {
      child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env, BACKPLANE_WORKER_SOCKET: socketPath }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      child.once('exit', () => abort.abort());
    },
  }).catch((error: unknown) => {
    throw new Error(`${argv.join(' ')} did not say hello: ${String(error)}\n${output}`);
  });
  return { connection, child };
}

/** Asserts `a` and `b` agree elementwise within {@link TOLERANCE}, naming the tensor. */
function expectClose(a: readonly number[], b: readonly number[], label: string): void {
  expect(a.length, `${label}: length`).toBe(b.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - b[i]);
    if (!(diff <= worst)) {
      worst = diff;
      at = i;
    }
  }
  expect(worst, `${label}: max |ts - torch| at [${at}] (${a[at]} vs ${b[at]})`).toBeLessThanOrEqual(TOLERANCE);
}

type Tensors = Record<string, { shape: number[]; data: number[] }>;

function expectSameTensors(ts: Tensors, py: Tensors, label: string): void {
  expect(Object.keys(py).sort(), `${label}: tensor names`).toEqual(Object.keys(ts).sort());
  for (const name of Object.keys(ts)) {
    expect(py[name].shape, `${label} ${name}: shape`).toEqual(ts[name].shape);
    expectClose(ts[name].data, py[name].data, `${label} ${name}`);
  }
}

const texts = ['hello world, hello tiny model', 'ab', 'The quick brown fox jumps over the lazy dog.'];
const encoded = texts.map((t) => [256, ...Buffer.from(t, 'utf8')]);

/** Next-token data for `encoded` with the given extra loss inputs per datum. */
function data(extra: (i: number, n: number) => Record<string, number[]>): Datum[] {
  return encoded.map((seq, i) => {
    const tokens = seq;
    const targets = [...seq.slice(1), 257];
    const inputs: Datum['loss_fn_inputs'] = { target_tokens: { data: targets, dtype: 'int64', shape: [targets.length] } };
    for (const [key, values] of Object.entries(extra(i, tokens.length))) inputs[key] = { data: values, dtype: 'float32', shape: [values.length] };
    return { model_input: { chunks: [{ type: 'encoded_text', tokens: tokens.slice(0, 5) }, { type: 'encoded_text', tokens: tokens.slice(5) }] }, loss_fn_inputs: inputs };
  });
}

const configs = [
  { name: 'LoRA rank 4 on E, W1, W2', lora: { rank: 4, alpha: 16, train_mlp: true, train_attn: true, train_unembed: true, seed: 7 } },
  { name: 'full fine-tune (rank 0)', lora: { rank: 0, train_mlp: true, train_attn: true, train_unembed: true } },
  { name: 'LoRA rank 2 on W1 only', lora: { rank: 2, train_mlp: true, train_attn: false, train_unembed: false, seed: 11 } },
];

describe.skipIf(!hasTorch && !process.env.CI)('TinyLM cross-check: TS worker vs PyTorch worker', () => {
  let dir: string;
  let ts: WorkerConnection;
  let py: WorkerConnection;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // In CI this cross-check must run: fail loudly instead of skipping when torch is missing.
    expect(hasTorch, `${PYTHON} cannot import torch: run scripts/install-test-deps.sh (python3-torch)`).toBe(true);
    dir = await mkdtemp(path.join(tmpdir(), 'bwp-xc-'));
    const [a, b] = await Promise.all([
      spawnWorker(path.join(dir, 'ts.sock'), [process.execPath, TINY_WORKER], { BACKPLANE_WORKER_ID: 'ts' }),
      spawnWorker(path.join(dir, 'py.sock'), [PYTHON, '-m', 'backplane_worker'], { BACKPLANE_WORKER_ID: 'py', PYTHONPATH: WORKERS_DIR, PYTHONDONTWRITEBYTECODE: '1' }),
    ]);
    children.push(a.child, b.child);
    ts = a.connection;
    py = b.connection;
    expect(ts.hello?.backend).toBe('tiny');
    expect(py.hello?.backend).toBe('torch');
  });

  afterAll(async () => {
    await Promise.allSettled([ts, py].filter(Boolean).map((c) => c.request('shutdown', { grace_ms: 1000 })));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Sends the same request to both workers. */
  async function both<M extends 'forward' | 'forward_backward' | 'optim_step' | 'get_gradients' | 'get_weights' | 'sample' | 'load_weights' | 'save_weights' | 'create_model'>(
    method: M,
    params: MethodParamsInput[M],
    pyParams: MethodParamsInput[M] = params,
  ) {
    return Promise.all([ts.request(method, params), py.request(method, pyParams)]);
  }

  for (const [index, { name, lora }] of configs.entries()) {
    it(`agrees on init, every loss, gradients, AdamW and sampling: ${name}`, async () => {
      const id = `m${index}`;
      // Same seeds ⇒ the same mulberry32 init in both workers.
      await both('create_model', { model_id: `${id}-fresh`, base_model: 'tiny-lm', lora_config: lora });
      const [freshTs, freshPy] = await both('get_weights', { model_id: `${id}-fresh` });
      expectSameTensors(freshTs.tensors, freshPy.tensors, 'fresh init');

      // Train the TS model a little (LoRA B ≠ 0, Adam state ≠ 0), then load that TS training checkpoint into both.
      await ts.request('forward_backward', { model_id: `${id}-fresh`, data: data(() => ({})), loss_fn: 'cross_entropy' });
      await ts.request('optim_step', { model_id: `${id}-fresh`, adam_params: { learning_rate: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8 } });
      const ckpt = path.join(dir, `${id}-ts.bwpt`);
      await ts.request('save_weights', { model_id: `${id}-fresh`, path: ckpt, kind: 'training' });
      await both('create_model', { model_id: id, base_model: 'tiny-lm', lora_config: lora, checkpoint_path: ckpt });
      const [loadedTs, loadedPy] = await both('get_weights', { model_id: id });
      expectSameTensors(loadedTs.tensors, loadedPy.tensors, 'loaded checkpoint');
      if (lora.rank > 0 && lora.train_mlp) expect(loadedTs.tensors['W1.lora_B'].data.some((x) => x !== 0)).toBe(true);

      // Target logprobs (forward leaves the gradients alone) to build realistic RL inputs.
      const [fwdTs, fwdPy] = await both('forward', { model_id: id, data: data(() => ({})), loss_fn: 'cross_entropy' });
      fwdTs.loss_fn_outputs.forEach((o, i) => expectClose(o.logprobs.data, fwdPy.loss_fn_outputs[i].logprobs.data, `forward logprobs[${i}]`));
      const lp = fwdTs.loss_fn_outputs.map((o) => o.logprobs.data);
      // q = lp + δ with δ in [-0.4, 0.4], so ratios exp(-δ) straddle the 0.8/1.2 clip bounds.
      const rl = (i: number, n: number) => ({
        logprobs: lp[i].map((x, t) => x + 0.4 * Math.sin(1.7 * t + i)),
        advantages: Array.from({ length: n }, (_, t) => ((t * 7 + i * 3) % 5) - 2 + 0.25),
        ...(i === 2 ? { mask: Array.from({ length: n }, (_, t) => (t % 4 === 0 ? 0 : 1)) } : {}),
      });
      const runs: Array<{ loss_fn: LossFn; data: Datum[]; loss_fn_config?: Record<string, number> }> = [
        { loss_fn: 'cross_entropy', data: data((i, n) => ({ weights: Array.from({ length: n }, (_, t) => (t % 3 === 0 ? -0.5 : 1.25) * (i + 1)) })) },
        { loss_fn: 'importance_sampling', data: data(rl) },
        { loss_fn: 'ppo', data: data(rl), loss_fn_config: { clip_low_threshold: 0.8, clip_high_threshold: 1.2 } },
        { loss_fn: 'cispo', data: data(rl), loss_fn_config: { clip_low_threshold: 0.9, clip_high_threshold: 1.1 } },
        { loss_fn: 'dro', data: data(rl), loss_fn_config: { beta: 0.05 } },
      ];
      for (const run of runs) {
        const [a, b] = await both('forward_backward', { model_id: id, ...run });
        expectClose([a.metrics['loss:sum']], [b.metrics['loss:sum']], `${run.loss_fn} loss:sum`);
        a.loss_fn_outputs.forEach((o, i) => {
          expectClose(o.logprobs.data, b.loss_fn_outputs[i].logprobs.data, `${run.loss_fn} logprobs[${i}]`);
          expectClose(o.elementwise_loss!.data, b.loss_fn_outputs[i].elementwise_loss!.data, `${run.loss_fn} elementwise_loss[${i}]`);
        });
        // Gradients accumulate across the calls: compare the running sums after each loss.
        const [ga, gb] = await both('get_gradients', { model_id: id });
        expectSameTensors(ga.tensors, gb.tensors, `${run.loss_fn} gradients`);
        expect(Object.values(ga.tensors).some((t) => t.data.some((x) => x !== 0))).toBe(true);
      }

      const adam = { learning_rate: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.01, grad_clip_norm: 5 };
      const [stepTs, stepPy] = await both('optim_step', { model_id: id, adam_params: adam });
      expectClose([stepTs.metrics['grad_norm:mean']], [stepPy.metrics['grad_norm:mean']], 'grad_norm:mean');
      expect(stepPy.metrics['step:max']).toBe(stepTs.metrics['step:max']);
      const [wTs, wPy] = await both('get_weights', { model_id: id });
      expectSameTensors(wTs.tensors, wPy.tensors, 'weights after optim_step');
      const [zTs, zPy] = await both('get_gradients', { model_id: id });
      for (const t of [...Object.values(zTs.tensors), ...Object.values(zPy.tensors)]) expect(t.data.every((x) => x === 0)).toBe(true);

      const sampleParams = { model_id: id, prompt_tokens: encoded[0].slice(0, 8), num_samples: 2, prompt_logprobs: true };
      const [sTs, sPy] = await both('sample', { ...sampleParams, sampling_params: { max_tokens: 24, temperature: 1, top_k: 1, top_p: 1 } });
      expect(sPy.sequences.map((s) => s.tokens)).toEqual(sTs.sequences.map((s) => s.tokens));
      expect(sPy.sequences.map((s) => s.stop_reason)).toEqual(sTs.sequences.map((s) => s.stop_reason));
      sTs.sequences.forEach((s, i) => expectClose(s.logprobs, sPy.sequences[i].logprobs, `sample[${i}] logprobs`));
      expect(sPy.prompt_logprobs![0]).toBeNull();
      expect(sTs.prompt_logprobs![0]).toBeNull();
      expectClose(sTs.prompt_logprobs!.slice(1) as number[], sPy.prompt_logprobs!.slice(1) as number[], 'prompt_logprobs');
      // Seeded stochastic sampling uses the same mulberry32 stream and filters: same tokens too.
      const [rTs, rPy] = await both('sample', { ...sampleParams, sampling_params: { max_tokens: 24, temperature: 0.8, top_k: 50, top_p: 0.95, seed: 1234, stop_token_ids: [257] } });
      expect(rPy.sequences.map((s) => s.tokens)).toEqual(rTs.sequences.map((s) => s.tokens));

      // The other direction: a checkpoint written by the Python worker loads in the TS worker.
      const pyCkpt = path.join(dir, `${id}-py.bwpt`);
      await py.request('save_weights', { model_id: id, path: pyCkpt, kind: 'training' });
      await ts.request('create_model', { model_id: `${id}-from-py`, base_model: 'tiny-lm', lora_config: lora, checkpoint_path: pyCkpt });
      const [back, pyNow] = await Promise.all([ts.request('get_weights', { model_id: `${id}-from-py` }), py.request('get_weights', { model_id: id })]);
      expectSameTensors(back.tensors, pyNow.tensors, 'python checkpoint in TS');
      expect(await ts.request('get_info', { model_id: `${id}-from-py` })).toMatchObject({ step: 2 });
    });
  }

  it('runs the same tiny-lm train_job to the same loss, and each worker validates the other one\'s output', async () => {
    const dataset = path.join(dir, 'rows.jsonl');
    await writeFile(dataset, texts.map((text, i) => JSON.stringify({ text, id: i })).join('\n'));
    const spec = { training_type: 'qlora', base_model: 'tiny-lm', epochs: 3, batch_size: 2, lora_r: 4, lora_alpha: 8, learning_rate: 0.02, seed: 5 };
    const [a, b] = await Promise.all([
      ts.request('train_job', { job_id: 'j', spec, dataset_path: dataset, output_dir: path.join(dir, 'job-ts') }),
      py.request('train_job', { job_id: 'j', spec, dataset_path: dataset, output_dir: path.join(dir, 'job-py') }),
    ]);
    expect(b.steps).toBe(a.steps);
    expect(b.files).toEqual(a.files);
    expectClose([a.final_loss!], [b.final_loss!], 'train_job final_loss');
    const [tsOfPy, pyOfTs] = await Promise.all([
      ts.request('validate_output', { path: b.model_path }),
      py.request('validate_output', { path: a.model_path }),
    ]);
    expect(tsOfPy).toMatchObject({ ok: true, model_name: 'tiny-lm' });
    expect(pyOfTs).toMatchObject({ ok: true, model_name: 'tiny-lm', parameters: tsOfPy.parameters });
    expect(pyOfTs.sample_text).toBe(tsOfPy.sample_text);
  });
});
