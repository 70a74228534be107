import { describe, expect, it } from 'vitest';
import type { Datum } from '../protocol/index.ts';
import { embedText, cosine } from './embeddings.ts';
import { tokenLoss } from './losses.ts';
import { TinyLM, tinyConfig } from './model.ts';

const t = (data: number[]) => ({ data, dtype: 'float32' as const, shape: [data.length] });
const datum = (inputs: Record<string, number[]>): Datum => ({
  model_input: { chunks: [{ type: 'encoded_text', tokens: [1] }] },
  loss_fn_inputs: { target_tokens: { data: [2], dtype: 'int64' }, ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, t(v)])) },
});

describe('per-token losses', () => {
  it('ppo clips with absolute bounds: no gradient once the clipped term is the minimum', () => {
    const lo = 0.8;
    const hi = 1.2;
    const at = (lp: number, q: number, a: number) => tokenLoss('ppo', datum({ logprobs: [q], advantages: [a] }), 1, { clip_low_threshold: lo, clip_high_threshold: hi })(0, lp);
    // r = e^0.5 ≈ 1.65 > hi with A > 0: clipped (loss −hi·A, grad 0).
    expect(at(0.5, 0, 2)).toEqual({ loss: -hi * 2, grad: 0 });
    // Same ratio with A < 0: the unclipped term is the minimum, gradient −A·r.
    const r = Math.exp(0.5);
    expect(at(0.5, 0, -2)).toEqual({ loss: 2 * r, grad: 2 * r });
    // Inside the bounds: plain importance sampling.
    expect(at(0.1, 0, 1).grad).toBeCloseTo(-Math.exp(0.1), 15);
  });

  it('cispo weights lp by the clipped ratio; dro adds the quadratic penalty; mask zeroes tokens', () => {
    expect(tokenLoss('cispo', datum({ logprobs: [0], advantages: [3] }), 1)(0, 1)).toEqual({ loss: -1.2 * 1 * 3, grad: -1.2 * 3 });
    const dro = tokenLoss('dro', datum({ logprobs: [-1], advantages: [2] }), 1, { beta: 0.5 })(0, -0.5);
    expect(dro.loss).toBeCloseTo(-(-0.5 * 2 - 0.25 * 0.25), 15);
    expect(dro.grad).toBeCloseTo(-(2 - 0.5 * 0.5), 15);
    expect(tokenLoss('importance_sampling', datum({ logprobs: [0], advantages: [1], mask: [0] }), 1)(0, 0.3)).toEqual({ loss: 0, grad: 0 });
    expect(tokenLoss('cross_entropy', datum({ weights: [-0.5] }), 1)(0, -2)).toEqual({ loss: -1, grad: 0.5 });
    expect(tokenLoss('cross_entropy', datum({}), 1)(0, -2)).toEqual({ loss: 2, grad: -1 });
  });

  it('names missing or mis-sized inputs and ε-style clip bounds as user errors', () => {
    expect(() => tokenLoss('ppo', datum({ advantages: [1] }), 1)).toThrow('loss_fn_inputs.logprobs is required for this loss');
    expect(() => tokenLoss('cross_entropy', datum({ weights: [1, 1] }), 1)).toThrow(/weights has 2 values; the input has 1 tokens/);
    expect(() => tokenLoss('ppo', datum({ logprobs: [0], advantages: [1] }), 1, { clip_low_threshold: 0.2, clip_high_threshold: 0.1 })).toThrow(/absolute ratio bounds/);
  });
});

describe('rag embeddings', () => {
  it('are unit-length means of h; equal texts match exactly, different ones less', () => {
    const model = new TinyLM(tinyConfig({ rank: 0 }));
    const a = embedText(model, 'the cat sat on the mat');
    expect(a).toHaveLength(64);
    expect(cosine(a, a)).toBeCloseTo(1, 6);
    expect(embedText(model, 'the cat sat on the mat')).toEqual(a);
    expect(cosine(a, embedText(model, 'quantum chromodynamics 42'))).toBeLessThan(0.999);
    expect(embedText(model, '').every((x) => x === 0)).toBe(true);
  });
});
