import { describe, expect, test } from 'vitest';
import { hasErrorCode } from '../core/plugin-api.ts';
import { tinkerConfigSchema, workerCommand, tinyWorkerScript } from '../plugins/tinker/config.ts';
import { ModelQueue } from '../plugins/tinker/model-queue.ts';
import { SampleLane } from '../plugins/tinker/sample-lane.ts';
import { suffixMetrics } from '../plugins/tinker/service.ts';
import { formatTinkerPath, parseTinkerPath } from '../plugins/tinker/tinker-path.ts';
import { normaliseForward, normaliseSamplingParams, samplingParamsInput } from '../plugins/tinker/wire.ts';

/** The pure parts of the tinker plugin: ordering, wire normalisation, paths, config. */
describe('ModelQueue: seq_id order, out-of-order buffer, idempotency', () => {
  const op = (queue: ModelQueue, ran: number[], seqId: number, hash = `h${seqId}`, gate?: Promise<void>) => {
    const outcome = queue.check(seqId, hash);
    if (outcome.duplicate) return outcome.futureId;
    queue.add({ seqId, futureId: `f${seqId}`, payloadHash: hash, kind: 'x', run: async () => void (await gate, ran.push(seqId)) });
    return `f${seqId}`;
  };

  test('ops run in seq_id order whatever the arrival order (chunk 1 last)', async () => {
    const queue = new ModelQueue({ limit: 10 });
    const ran: number[] = [];
    op(queue, ran, 3);
    op(queue, ran, 2);
    expect(queue.waitingFor).toBe(1);
    op(queue, ran, 4);
    op(queue, ran, 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(queue.lastSeqId).toBe(4);
    expect(queue.nextAutoSeq()).toBe(5);
  });

  test('same payload → same request id; another payload → CONFLICT; behind the sequence → 400; full → 429', async () => {
    const queue = new ModelQueue({ limit: 2 });
    const ran: number[] = [];
    expect(op(queue, ran, 2)).toBe('f2');
    expect(op(queue, ran, 2)).toBe('f2');
    expect(() => op(queue, ran, 2, 'other')).toThrow(/seq_id 2 was already used/);
    try {
      op(queue, ran, 2, 'other');
    } catch (e) {
      expect(hasErrorCode(e, 'CONFLICT')).toBe(true);
    }
    op(queue, ran, 3);
    try {
      queue.check(4, 'h4');
      expect.unreachable();
    } catch (e) {
      expect(hasErrorCode(e, 'RATE_LIMITED')).toBe(true);
    }
    op(queue, ran, 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual([1, 2, 3]);
    expect(() => queue.check(1, 'new')).toThrow(/already used/);
    expect(() => queue.check(0, 'new')).toThrow(/behind this model's sequence/);
  });

  test('drain drops buffered ops and moves the sequence past them', () => {
    const queue = new ModelQueue({ limit: 10 });
    const ran: number[] = [];
    op(queue, ran, 2);
    op(queue, ran, 3);
    expect(queue.drain().map((o) => o.seqId)).toEqual([2, 3]);
    expect(queue.depth).toBe(0);
    expect(queue.nextAutoSeq()).toBe(4);
  });

  test('a sampler lane bounds concurrency and refuses beyond its queue', async () => {
    const lane = new SampleLane({ concurrency: 1, limit: 1 });
    let release!: () => void;
    const first = lane.run(() => new Promise<void>((r) => (release = r)));
    const second = lane.run(async () => 2);
    expect(lane.active).toBe(1);
    expect(lane.queued).toBe(1);
    expect(() => lane.check()).toThrow(/sampler queue is full/);
    release();
    await first;
    expect(await second).toBe(2);
  });
});

describe('wire normalisation (§2.13.6)', () => {
  const tokens = [104, 101, 108];
  test('nested and flat bodies, chunks | tokens | input_ids, chunks without type, plain lists → one nested form', () => {
    const nested = normaliseForward({ model_id: 'm', forward_backward_input: { data: [{ model_input: { chunks: [{ type: 'encoded_text', tokens }] }, loss_fn_inputs: { target_tokens: { data: [1, 2, 3], dtype: 'int64' } } }], loss_fn: 'cross_entropy' } }, 'forward_backward_input');
    const flat = normaliseForward({ model_id: 'm', data: [{ model_input: { chunks: [{ tokens: [104] }, { tokens: [101, 108] }] }, loss_fn_inputs: { target_tokens: [1, 2, 3], weights: { data: [1, 1, 1], dtype: 'float64' } } }], loss_fn: 'cross_entropy' }, 'forward_backward_input');
    const ids = normaliseForward({ data: [{ model_input: { input_ids: tokens }, loss_fn_inputs: { target_tokens: { data: [1, 2, 3], dtype: 'int32', shape: [3] } } }], loss_fn: 'cross_entropy' }, 'forward_input');
    for (const n of [nested, flat, ids]) {
      expect(n.data[0]).toEqual({
        model_input: { chunks: [{ type: 'encoded_text', tokens }] },
        loss_fn_inputs: { target_tokens: { data: [1, 2, 3], dtype: 'int64', shape: [3] }, weights: { data: [1, 1, 1], dtype: 'float32', shape: [3] } },
      });
    }
  });

  test('loss configs get their defaults; ppo bounds are absolute ratios', () => {
    const rl = { data: [{ model_input: { tokens: [1, 2] }, loss_fn_inputs: { target_tokens: [2, 3], logprobs: [-1, -1], advantages: [1, 0] } }] };
    expect(normaliseForward({ ...rl, loss_fn: 'ppo' }, 'forward_input').loss_fn_config).toEqual({ clip_low_threshold: 0.8, clip_high_threshold: 1.2 });
    expect(normaliseForward({ ...rl, loss_fn: 'dro', loss_fn_config: { beta: 0.1 } }, 'forward_input').loss_fn_config).toEqual({ beta: 0.1 });
    expect(() => normaliseForward({ ...rl, loss_fn: 'ppo', loss_fn_config: { clip_low_threshold: 0.2, clip_high_threshold: 0.2 } }, 'forward_input')).toThrow(/absolute ratio bounds/);
    expect(() => normaliseForward({ data: [{ model_input: { tokens: [1] }, loss_fn_inputs: { target_tokens: [[1, 2]] } }], loss_fn: 'cross_entropy' }, 'forward_input')).toThrow(/2-D tensors/);
    expect(() => normaliseForward({ data: [{ model_input: { tokens: [1] }, loss_fn_inputs: { target_tokens: [1.5] } }], loss_fn: 'cross_entropy' }, 'forward_input')).toThrow(/target_tokens\.data\[0\]: token ids are non-negative integers/);
    expect(() => normaliseForward({ data: [{ model_input: { chunks: [{ type: 'image', tokens: [1] }] }, loss_fn_inputs: { target_tokens: [1] } }], loss_fn: 'cross_entropy' }, 'forward_input')).toThrow(/'image' chunks are not supported/);
    expect(() => normaliseForward({ forward_input: { data: 'x', loss_fn: 'cross_entropy' } }, 'forward_input')).toThrow(/^forward_input\.data: /);
  });

  test('sampling params: SDK defaults, integer stops are token ids', () => {
    const p = normaliseSamplingParams(samplingParamsInput.parse({ stop: ['\n', 257], seed: 3 }), 128);
    expect(p).toEqual({ max_tokens: 128, temperature: 1, top_p: 1, top_k: -1, seed: 3, stop_strings: ['\n'], stop_token_ids: [257] });
    expect(() => normaliseSamplingParams(samplingParamsInput.parse({ presence_penalty: 0.5 }), 8)).toThrow(/presence_penalty: not supported/);
  });

  test('metric keys always carry a reduction', () => {
    expect(suffixMetrics({ 'loss:sum': 1, ppo_kl: 0.1, pg_clipfrac: 0.5 })).toEqual({ 'loss:sum': 1, 'ppo_kl:mean': 0.1, 'pg_clipfrac:mean': 0.5 });
  });
});

describe('tinker:// paths (§2.9) and config', () => {
  test('exactly three parts, weights | sampler_weights, single safe segments', () => {
    expect(parseTinkerPath('tinker://model-1/weights/step-10')).toEqual({ modelId: 'model-1', kind: 'weights', name: 'step-10' });
    expect(formatTinkerPath({ modelId: 'm', kind: 'sampler_weights', name: 'x' })).toBe('tinker://m/sampler_weights/x');
    for (const bad of ['tinker://m/weights', 'tinker://m/weights/a/b', 'tinker://m/state/a', 'tinker://m/weights/..', 'tinker://../weights/a', 'file:///etc/passwd', 'tinker://m/weights/.hidden']) {
      expect(() => parseTinkerPath(bad), bad).toThrow();
    }
  });

  test('worker commands: the TS tiny worker on this Node by default, python -m backplane_worker with PYTHONPATH', () => {
    const tiny = workerCommand(tinkerConfigSchema.parse({}));
    expect(tiny).toEqual({ command: process.execPath, args: [tinyWorkerScript], env: {} });
    const python = workerCommand(tinkerConfigSchema.parse({ worker: { kind: 'python' }, workerPer: 'gpu', gpusPerWorker: 1 }));
    expect(python.command).toBe('/usr/bin/python3');
    expect(python.args).toEqual(['-m', 'backplane_worker']);
    expect(python.env.PYTHONPATH).toMatch(/workers\/python/);
    expect(tinkerConfigSchema.safeParse({ futureRetentionSeconds: 60 }).success).toBe(false);
    expect(tinkerConfigSchema.safeParse({ longPollSeconds: 60 }).success).toBe(false);
    expect(tinkerConfigSchema.safeParse({ worker: { kind: 'custom' } }).success).toBe(false);
  });
});
