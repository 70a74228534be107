import { rm, symlink } from 'node:fs/promises';
import nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinkerPlugin } from '../plugins/tinker/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { HttpError, RequestFailedError, textDatum, TinkerSdk, type Datum } from './helpers/tinker-sdk.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * The tinker plugin end to end with the real TypeScript TinyLM worker process: the SDK emulator
 * (§2.3 polling, parallel chunks with chunk 1 last, metric merging) trains, steps, samples and
 * checkpoints through the REST API; GraphQL shows the state.
 */
const corpus = ['hello world', 'hello there', 'help the world', 'the world says hello', 'held the line', 'hello hello world'];

describe('tinker training through the API, real tiny worker', () => {
  let bp: TestDaemon;
  let sdk: TinkerSdk;

  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [tinkerPlugin] });
    sdk = new TinkerSdk(bp.url, { chunkSize: 2 });
    await sdk.createSession(['test']);
  });
  afterAll(() => bp?.stop());

  test('a supervised fine-tune through parallel chunks: the loss falls, metrics merge, info and tokenizer answer', async () => {
    const model = await sdk.createModel({ rank: 8, train_mlp: true, train_attn: true, train_unembed: true, seed: 3 });
    const info = await sdk.post('get_info', { model_id: model });
    expect(info).toMatchObject({ model_id: model, model_data: { model_name: 'tiny-lm' }, is_lora: true, lora_rank: 8 });
    expect(typeof info.model_data.tokenizer_id).toBe('string');
    const tokenizer = await sdk.get(`get_tokenizer?model_id=${model}`);
    expect(tokenizer).toMatchObject({ vocab_size: 259, bos_token_id: 256, eos_token_id: 257, pad_token_id: 258 });

    const data = corpus.map((t) => textDatum(t));
    const tokens = data.reduce((n, d) => n + d.loss_fn_inputs.target_tokens.data.length, 0);
    const losses: number[] = [];
    for (let step = 0; step < 25; step++) {
      // 6 datums in chunks of 2: seq_ids n+1..n+3 sent with the first chunk last.
      const out = await sdk.forwardBackward(model, data, 'cross_entropy');
      expect(out.loss_fn_outputs).toHaveLength(data.length);
      out.loss_fn_outputs.forEach((o, i) => {
        expect(o.logprobs.dtype).toBe('float32');
        expect(o.logprobs.data).toHaveLength(data[i].loss_fn_inputs.target_tokens.data.length);
      });
      for (const key of Object.keys(out.metrics)) expect(key).toMatch(/^[a-z_]+:[a-z_]+$/);
      // loss:sum merged over chunks = −Σ logprobs (weights 1).
      const sumLp = out.loss_fn_outputs.flatMap((o) => o.logprobs.data).reduce((a, b) => a + b, 0);
      expect(out.metrics['loss:sum']).toBeCloseTo(-sumLp, 2);
      losses.push(out.metrics['loss:sum'] / tokens);
      const stepped = await sdk.optimStep(model, { learning_rate: 0.02 });
      expect(stepped).toMatchObject({ step_count: step + 1, learning_rates: [0.02] });
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.8);
    const gql = await bp.gql(`{ tinkerModel(id: "${model}") { status step lastSeqId lastLoss lora { rank seed trainUnembed } } }`);
    expect(gql.data.tinkerModel).toMatchObject({ status: 'ready', step: 25, lastSeqId: 100, lora: { rank: 8, seed: 3, trainUnembed: true } });
    expect(gql.data.tinkerModel.lastLoss).toBeLessThan(losses[0]);
  });

  test('forward leaves the gradients alone, and fb(6)+step equals 3×fb(2)+step', async () => {
    const lora = { rank: 4, seed: 7, train_mlp: true, train_attn: false, train_unembed: true };
    const a = await sdk.createModel(lora);
    const b = await sdk.createModel(lora);
    const data = corpus.map((t) => textDatum(t));
    sdk.chunkSize = 1024;
    await sdk.forward(a, data, 'cross_entropy');
    await sdk.forwardBackward(a, data, 'cross_entropy');
    await sdk.optimStep(a, { learning_rate: 0.05 });
    for (let i = 0; i < 6; i += 2) await sdk.forwardBackward(b, data.slice(i, i + 2), 'cross_entropy');
    await sdk.optimStep(b, { learning_rate: 0.05 });
    sdk.chunkSize = 2;
    const after = await Promise.all([sdk.forward(a, data, 'cross_entropy'), sdk.forward(b, data, 'cross_entropy')]);
    const [la, lb] = after.map((o) => o.loss_fn_outputs.flatMap((x) => x.logprobs.data));
    la.forEach((v, i) => expect(v).toBeCloseTo(lb[i], 5));
  });

  test('importance_sampling and ppo: losses and clipping as computed by hand', async () => {
    const model = await sdk.createModel({ rank: 4, seed: 11, train_mlp: true, train_attn: true, train_unembed: true });
    const base = textDatum('hello');
    const n = base.loss_fn_inputs.target_tokens.data.length; // 4
    const lp = (await sdk.forward(model, [base], 'cross_entropy')).loss_fn_outputs[0].logprobs.data;
    // Sampler logprobs q chosen so that r = exp(lp − q) is 0.5, 1, 1.5, 2.
    const ratios = [0.5, 1, 1.5, 2];
    const advantages = [1, -1, 1, -1];
    const rl = (adv: number[], q: number[]): Datum => ({
      model_input: base.model_input,
      loss_fn_inputs: {
        target_tokens: base.loss_fn_inputs.target_tokens,
        logprobs: { data: q, dtype: 'float32', shape: [n] },
        advantages: { data: adv, dtype: 'float32', shape: [n] },
      },
    });
    const q = lp.map((v, i) => v - Math.log(ratios[i]));
    const is = await sdk.forward(model, [rl(advantages, q)], 'importance_sampling');
    expect(is.metrics['loss:sum']).toBeCloseTo(-ratios.reduce((s, r, i) => s + r * advantages[i], 0), 4);
    const clip = (r: number) => Math.min(1.2, Math.max(0.8, r));
    const ppoExpected = -ratios.reduce((s, r, i) => s + Math.min(r * advantages[i], clip(r) * advantages[i]), 0);
    const ppo = await sdk.forward(model, [rl(advantages, q)], 'ppo', { clip_low_threshold: 0.8, clip_high_threshold: 1.2 });
    expect(ppo.metrics['loss:sum']).toBeCloseTo(ppoExpected, 4); // −(0.5 − 1 + 1.2 − 2) = 1.3
    expect(ppoExpected).toBeCloseTo(1.3, 10);

    // A ppo step where every token is clipped (r = 1.5 and 2 with A > 0) has zero gradient: the weights stay.
    const clippedQ = lp.map((v, i) => v - Math.log(i % 2 === 0 ? 1.5 : 2));
    await sdk.forwardBackward(model, [rl([1, 1, 1, 1], clippedQ)], 'ppo', { clip_low_threshold: 0.8, clip_high_threshold: 1.2 });
    await sdk.optimStep(model, { learning_rate: 0.1 });
    const still = (await sdk.forward(model, [base], 'cross_entropy')).loss_fn_outputs[0].logprobs.data;
    still.forEach((v, i) => expect(v).toBeCloseTo(lp[i], 6));
    // The same tokens unclipped (importance_sampling) move them.
    await sdk.forwardBackward(model, [rl([1, 1, 1, 1], clippedQ)], 'importance_sampling');
    await sdk.optimStep(model, { learning_rate: 0.1 });
    const moved = (await sdk.forward(model, [base], 'cross_entropy')).loss_fn_outputs[0].logprobs.data;
    expect(moved.reduce((a, b) => a + b, 0)).toBeGreaterThan(lp.reduce((a, b) => a + b, 0));
  });

  test('out-of-order submits wait for the missing seq_id; duplicates are idempotent; a reused seq_id is 409', async () => {
    const model = await sdk.createModel();
    const datum = textDatum('out of order');
    const fb = { forward_backward_input: { data: [datum], loss_fn: 'cross_entropy' } };
    const step = await sdk.post('optim_step', { model_id: model, seq_id: 2, adam_params: { learning_rate: 0.01 } });
    const pending = await (await fetch(`${bp.url}/api/v1/retrieve_future/${step.request_id}`, { method: 'POST' })).json();
    expect(pending).toEqual({ status: 'pending', result: null, error: null });
    expect((await bp.gql(`{ tinkerModel(id: "${model}") { waitingForSeqId queued } }`)).data.tinkerModel).toEqual({ waitingForSeqId: 1, queued: 1 });
    const first = await sdk.post('forward_backward', { model_id: model, seq_id: 1, ...fb });
    const again = await sdk.post('forward_backward', { model_id: model, seq_id: 1, ...fb });
    expect(again.request_id).toBe(first.request_id);
    const conflict = await fetch(`${bp.url}/api/v1/forward_backward`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model_id: model, seq_id: 1, forward_backward_input: { data: [textDatum('other')], loss_fn: 'cross_entropy' } }) });
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).detail).toMatch(/seq_id 1 was already used/);
    const [fbResult, stepResult] = await Promise.all([sdk.retrieve(first.request_id), sdk.retrieve(step.request_id)]);
    expect(fbResult.metrics['loss:sum']).toBeGreaterThan(0);
    expect(stepResult.step_count).toBe(1);
    // The seed's envelope, once complete.
    const done = await (await fetch(`${bp.url}/api/v1/retrieve_future/${step.request_id}`, { method: 'POST' })).json();
    expect(done).toMatchObject({ status: 'completed', result: { step_count: 1 } });
  });

  test('flat seed bodies (tokens, plain lists, no seq_id) and every bad-input case of the issue', async () => {
    const model = await sdk.createModel();
    const post = (path: string, body: unknown) => fetch(`${bp.url}/api/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const flat = await post('forward', { model_id: model, data: [{ model_input: { chunks: [{ tokens: [104, 105, 33] }] }, loss_fn_inputs: { target_tokens: { data: [105, 33, 10], dtype: 'int32' } } }], loss_fn: 'cross_entropy' });
    expect(flat.status).toBe(200);
    const flatResult = await sdk.retrieve((await flat.json()).request_id);
    expect(flatResult.loss_fn_outputs[0].logprobs).toMatchObject({ dtype: 'float32', shape: [3] });
    const ids = await post('forward', { model_id: model, data: [{ model_input: { input_ids: [104, 105] }, loss_fn_inputs: { target_tokens: [105, 33] } }], loss_fn: 'cross_entropy' });
    expect(ids.status).toBe(200);

    const bad = async (path: string, body: unknown, status: number, pattern: RegExp) => {
      const r = await post(path, body);
      expect(r.status, JSON.stringify(body).slice(0, 120)).toBe(status);
      expect((await r.json()).detail).toMatch(pattern);
    };
    const datum = (inputs: Record<string, unknown>, tokens = [104, 105, 33]) => ({ model_input: { chunks: [{ type: 'encoded_text', tokens }] }, loss_fn_inputs: inputs });
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: [1, 2, 3] })], loss_fn: 'kl' } }, 400, /loss_fn: unknown loss function 'kl'/);
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: { data: [1, 2, 3], dtype: 'bfloat16' } })], loss_fn: 'cross_entropy' } }, 400, /target_tokens\.dtype: unknown dtype 'bfloat16'/);
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: [1, 2, 3], weights: [1, 1] })], loss_fn: 'cross_entropy' } }, 400, /data\[0\]\.loss_fn_inputs\.weights: length 2 does not match the model_input length 3/);
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: [1, 2, 3] })], loss_fn: 'ppo' } }, 400, /loss_fn_inputs\.logprobs: required by ppo/);
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: [1, 2, 999] })], loss_fn: 'cross_entropy' } }, 400, /outside the vocabulary/);
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: [1, 2, 3] })], loss_fn: 'cross_entropy', loss_fn_config: { beta: 1 } } }, 400, /loss_fn_config\.beta: not a parameter of cross_entropy/);
    await bad('forward_backward', { model_id: model, forward_backward_input: { data: [datum({ target_tokens: [1, 2, 3], logprobs: [0, 0, 0], advantages: [1, 1, 1] })], loss_fn: 'ppo', loss_fn_config: { clip_low_threshold: 0.2, clip_high_threshold: 0.2 } } }, 400, /absolute ratio bounds/);
    await bad('forward_backward', { model_id: 'model-nope', forward_backward_input: { data: [], loss_fn: 'cross_entropy' } }, 404, /Model model-nope not found/);
    await bad('load_weights', { model_id: model, path: 'tinker://x/weights' }, 400, /exactly three parts/);
    await bad('load_weights', { model_id: model, path: '/etc/passwd' }, 400, /outside the checkpoint directory/);
    await bad('optim_step', { model_id: model, adam_params: { learning_rate: 0.1, momentum: 0.9 } }, 400, /adam_params: .*momentum/);
    await bad('asample', { sampling_session_id: 'sampler-nope', prompt: { chunks: [{ tokens: [1] }] }, sampling_params: { max_tokens: 2 } }, 404, /Sampling session sampler-nope not found/);
  });

  test('checkpoints: save_state, weights_info round-trips the LoRA config, create_model from it reproduces the weights; listed and deleted in GraphQL', async () => {
    const lora = { rank: 2, seed: 5, train_mlp: false, train_attn: true, train_unembed: false };
    const model = await sdk.createModel(lora);
    const data = [textDatum('checkpoint me')];
    await sdk.forwardBackward(model, data, 'cross_entropy');
    await sdk.optimStep(model, { learning_rate: 0.05 });
    const path = await sdk.saveState(model, 'after-one');
    expect(path).toBe(`tinker://${model}/weights/after-one`);
    expect(await sdk.post('weights_info', { tinker_path: path })).toMatchObject({ base_model: 'tiny-lm', is_lora: true, lora_rank: 2, train_mlp: false, train_attn: true, train_unembed: false });
    const named = await sdk.saveWeightsForSampler(model, 'for-sampling');
    expect(named.path).toBe(`tinker://${model}/sampler_weights/for-sampling`);
    const expected = (await sdk.forward(model, data, 'cross_entropy')).loss_fn_outputs[0].logprobs.data;

    const future = await sdk.post('create_model', { session_id: sdk.sessionId, model_seq_id: 99, base_model: 'tiny-lm', checkpoint_path: path });
    const restored = (await sdk.retrieve(future.request_id)).model_id;
    const got = (await sdk.forward(restored, data, 'cross_entropy')).loss_fn_outputs[0].logprobs.data;
    got.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i], 6));
    const mismatch = await fetch(`${bp.url}/api/v1/create_model`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ base_model: 'tiny-lm', checkpoint_path: path, lora_config: { ...lora, train_unembed: true } }) });
    expect(mismatch.status).toBe(400);
    expect((await mismatch.json()).detail).toMatch(/train_unembed is false but the model's train_unembed is true/);

    const listed = await bp.gql(`{ tinkerCheckpoints(modelId: "${model}") { path kind name bytes step lora { rank trainUnembed } } }`);
    expect(listed.data.tinkerCheckpoints).toEqual([
      { path, kind: 'weights', name: 'after-one', bytes: expect.any(Number), step: 1, lora: { rank: 2, trainUnembed: false } },
      { path: named.path, kind: 'sampler_weights', name: 'for-sampling', bytes: expect.any(Number), step: 1, lora: { rank: 2, trainUnembed: false } },
    ]);
    // A checkpoint file swapped for a symlink out of the data dir is refused when read.
    const file = nodePath.join(bp.dataDir, 'plugins', 'tinker', 'checkpoints', model, 'sampler_weights', 'for-sampling.bwpt');
    await rm(file);
    await symlink('/etc/hostname', file);
    const escaped = await fetch(`${bp.url}/api/v1/create_sampling_session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session_id: sdk.sessionId, model_path: named.path }) });
    expect(escaped.status).toBe(400);
    expect((await escaped.json()).detail).toMatch(/outside the checkpoint directory/);
    expect((await bp.gql(`mutation { tinkerDeleteCheckpoint(path: "${named.path}") }`)).data.tinkerDeleteCheckpoint).toBe(true);

    // The SDK RestClient's view: training runs and their checkpoints, deletable.
    const run = await sdk.get(`training_runs/${model}`);
    expect(run).toMatchObject({ training_run_id: model, base_model: 'tiny-lm', is_lora: true, lora_rank: 2, last_checkpoint: { checkpoint_id: 'after-one', checkpoint_type: 'training', tinker_path: path } });
    expect((await sdk.get('training_runs?limit=100')).training_runs.map((r: any) => r.training_run_id)).toContain(model);
    expect((await sdk.get(`training_runs/${model}/checkpoints`)).checkpoints.map((c: any) => c.tinker_path)).toEqual([path]);
    const restoredCkpt = await sdk.saveState(restored, 'extra');
    expect((await fetch(`${bp.url}/api/v1/training_runs/${restored}/checkpoints/weights/extra`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${bp.url}/api/v1/training_runs/${restored}/checkpoints/extra`, { method: 'DELETE' })).status).toBe(404);
    expect((await sdk.get('checkpoints')).checkpoints.map((c: any) => c.tinker_path)).not.toContain(restoredCkpt);
    await expect(sdk.post('weights_info', { tinker_path: named.path })).rejects.toMatchObject({ status: 404 });
  });

  test('sampling: ephemeral sync serves a snapshot, on its own worker; seeded samples repeat; stop tokens and prompt logprobs', async () => {
    const model = await sdk.createModel({ rank: 4, seed: 1, train_mlp: true, train_attn: true, train_unembed: true });
    const data = corpus.map((t) => textDatum(t));
    for (let i = 0; i < 10; i++) {
      await sdk.forwardBackward(model, data, 'cross_entropy');
      await sdk.optimStep(model, { learning_rate: 0.05 });
    }
    const synced = await sdk.saveWeightsForSampler(model);
    expect(synced.path).toBeNull();
    const sampler = synced.sampling_session_id!;
    const prompt = [...Buffer.from('hel')];
    const params = { max_tokens: 8, temperature: 1, seed: 42 };
    const one = await sdk.sample(sampler, prompt, params, { numSamples: 3, promptLogprobs: true });
    expect(one.sequences).toHaveLength(3);
    for (const s of one.sequences) {
      expect(s.tokens.length).toBeLessThanOrEqual(8);
      expect(s.logprobs).toHaveLength(s.tokens.length);
      expect(['stop', 'length']).toContain(s.stop_reason);
      expect(s.finish_reason).toBe(s.stop_reason);
    }
    expect(one.prompt_logprobs[0]).toBeNull();
    expect(one.prompt_logprobs).toHaveLength(prompt.length);
    expect((await sdk.sample(sampler, prompt, params, { numSamples: 3 })).sequences.map((s: any) => s.tokens)).toEqual(one.sequences.map((s: any) => s.tokens));
    const greedy = await sdk.sample(sampler, prompt, { max_tokens: 20, temperature: 0 });
    const stopAt = greedy.sequences[0].tokens[1];
    const stopped = await sdk.sample(sampler, prompt, { max_tokens: 20, temperature: 0, stop: [stopAt] });
    expect(stopped.sequences[0]).toMatchObject({ stop_reason: 'stop' });
    expect(stopped.sequences[0].tokens.length).toBeLessThanOrEqual(2);

    // The sampler keeps its snapshot while the model trains on.
    await sdk.forwardBackward(model, data, 'cross_entropy');
    await sdk.optimStep(model, { learning_rate: 0.5 });
    expect((await sdk.sample(sampler, prompt, { max_tokens: 20, temperature: 0 })).sequences[0].tokens).toEqual(greedy.sequences[0].tokens);

    const workers = (await bp.gql('{ tinkerWorkers { id pid units status backend } }')).data.tinkerWorkers;
    const ofModel = workers.find((w: any) => w.units.includes(model));
    const ofSampler = workers.find((w: any) => w.units.includes(sampler));
    expect(ofModel.pid).not.toBe(ofSampler.pid);
    // Every snapshot of one model shares one sampler process (an RL loop syncs once per iteration).
    const second = (await sdk.saveWeightsForSampler(model)).sampling_session_id!;
    const ofSecond = (await bp.gql('{ tinkerWorkers { id units } }')).data.tinkerWorkers.find((w: any) => w.units.includes(second));
    expect(ofSecond.id).toBe(ofSampler.id);
    expect((await sdk.sample(second, prompt, { max_tokens: 20, temperature: 0 })).sequences[0].tokens).not.toEqual(greedy.sequences[0].tokens);
    expect(ofSampler).toMatchObject({ status: 'ready', backend: 'tiny' });
    const session = await sdk.get(`sessions/${sdk.sessionId}`);
    expect(session.training_run_ids).toContain(model);
    expect(session.sampler_ids).toContain(sampler);
    expect(await sdk.get(`samplers/${sampler}`)).toMatchObject({ sampler_id: sampler, base_model: 'tiny-lm' });

    // A base-model sampler, the seed's synchronous /sample, and the seed's asample by model_id.
    const baseSampler = await sdk.createSamplingClient({ base_model: 'tiny-lm' });
    const sync = await sdk.post('sample', { sampling_session_id: baseSampler, prompt: { chunks: [{ tokens: prompt }] }, num_samples: 2, sampling_params: { max_tokens: 3, seed: 1 } });
    expect(sync).toMatchObject({ type: 'sample', sequences: [{ stop_reason: expect.any(String) }, { stop_reason: expect.any(String) }], prompt_logprobs: null });
    const live = await sdk.post('asample', { model_id: model, prompt: { tokens: prompt }, num_samples: 1, sampling_params: { max_tokens: 2 }, include_prompt_logprobs: true });
    expect((await sdk.retrieve(live.request_id)).prompt_logprobs).toHaveLength(prompt.length);
    const named = await sdk.saveWeightsForSampler(model, 'snap');
    const fromPath = await sdk.createSamplingClient({ model_path: named.path! });
    expect((await sdk.sample(fromPath, prompt, { max_tokens: 20, temperature: 0 })).sequences).toHaveLength(1);
    const dup = await sdk.post('asample', { sampling_session_id: fromPath, seq_id: 7, prompt: { tokens: prompt }, sampling_params: { max_tokens: 2, seed: 1 } });
    expect((await sdk.post('asample', { sampling_session_id: fromPath, seq_id: 7, prompt: { tokens: prompt }, sampling_params: { max_tokens: 2, seed: 1 } })).request_id).toBe(dup.request_id);
  });

  test('a sample is answered while a long training op of its model runs', async () => {
    const model = await sdk.createModel({ rank: 8, train_mlp: true, train_attn: true, train_unembed: true });
    const sampler = (await sdk.saveWeightsForSampler(model)).sampling_session_id!;
    const big = Array.from({ length: 600 }, (_, i) => textDatum(`${corpus[i % corpus.length]} ${i} ${'x'.repeat(40)}`));
    sdk.chunkSize = 4096;
    const training = sdk.submit('forward_backward', model, { forward_backward_input: { data: big, loss_fn: 'cross_entropy' } });
    sdk.chunkSize = 2;
    const { request_id } = await training;
    await waitFor(async () => (await bp.gql(`{ tinkerFuture(id: "${request_id}") { state } }`)).data.tinkerFuture.state === 'running' || undefined);
    const sample = await sdk.sample(sampler, [104], { max_tokens: 4, temperature: 0 });
    expect(sample.sequences).toHaveLength(1);
    // The training op was still running when the sample came back.
    expect((await bp.gql(`{ tinkerFuture(id: "${request_id}") { state } }`)).data.tinkerFuture.state).toBe('running');
    expect((await sdk.retrieve(request_id)).loss_fn_outputs).toHaveLength(big.length);
  });

  test('a worker SIGKILLed mid-step: its pending futures fail with category server, it restarts, the model trains on', async () => {
    const model = await sdk.createModel({ rank: 4, train_mlp: true, train_attn: true, train_unembed: true });
    await sdk.saveState(model, 'before-crash');
    const big = Array.from({ length: 600 }, (_, i) => textDatum(`${corpus[i % corpus.length]} ${i} ${'y'.repeat(40)}`));
    sdk.chunkSize = 4096;
    const inflight = await sdk.submit('forward_backward', model, { forward_backward_input: { data: big, loss_fn: 'cross_entropy' } });
    sdk.chunkSize = 2;
    const queued = await sdk.submit('optim_step', model, { adam_params: { learning_rate: 0.01 } });
    await waitFor(async () => (await bp.gql(`{ tinkerFuture(id: "${inflight.request_id}") { state } }`)).data.tinkerFuture.state === 'running' || undefined);
    const before = (await bp.gql('{ tinkerWorkers { id pid restarts units } }')).data.tinkerWorkers.find((w: any) => w.units.includes(model));
    process.kill(before.pid, 'SIGKILL');
    for (const id of [inflight.request_id, queued.request_id]) {
      const error = await sdk.retrieve(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RequestFailedError);
      expect((error as RequestFailedError).category).toBe('server');
      expect((error as RequestFailedError).message).toMatch(/worker process crashed/);
    }
    await waitFor(async () => {
      const m = (await bp.gql(`{ tinkerModel(id: "${model}") { status message } }`)).data.tinkerModel;
      return (m.status === 'ready' && /restored/.test(m.message ?? '')) || undefined;
    }, { timeoutMs: 20_000 });
    const all = (await bp.gql('{ tinkerWorkers { id pid restarts status units lastError } }')).data.tinkerWorkers;
    const after = all.find((w: any) => w.units.includes(model));
    expect(after).toMatchObject({ id: before.id, restarts: 1, status: 'ready' });
    expect(after.pid).not.toBe(before.pid);
    expect((await bp.gql(`{ tinkerModel(id: "${model}") { message } }`)).data.tinkerModel.message).toMatch(/restored from tinker:\/\/.*before-crash/);
    const out = await sdk.forwardBackward(model, [textDatum('still alive')], 'cross_entropy');
    expect(out.metrics['loss:sum']).toBeGreaterThan(0);
    expect((await sdk.optimStep(model)).step_count).toBe(1);
  });

  test('unload_model frees the worker; later ops are 404', async () => {
    const model = await sdk.createModel();
    expect((await bp.gql('{ tinkerWorkers { units } }')).data.tinkerWorkers.some((w: any) => w.units.includes(model))).toBe(true);
    const future = await sdk.post('unload_model', { model_id: model });
    expect(await sdk.retrieve(future.request_id)).toEqual({ model_id: model, type: 'unload_model' });
    expect((await bp.gql('{ tinkerWorkers { units } }')).data.tinkerWorkers.some((w: any) => w.units.includes(model))).toBe(false);
    await expect(sdk.post('optim_step', { model_id: model, seq_id: 1, adam_params: {} })).rejects.toBeInstanceOf(HttpError);
  });
});
