import { describe, expect, it } from 'vitest';
import { adamwStep, ADAM_DEFAULTS } from './adamw.ts';
import { TinyLM, tinyConfig } from './model.ts';

/** A rank-0 model whose only nonzero gradient we set by hand. */
function withGrads(values: Record<string, number[]>): TinyLM {
  const model = new TinyLM(tinyConfig({ rank: 0 }));
  for (const [name, g] of Object.entries(values)) model.grads.get(name)!.set(g);
  return model;
}

describe('AdamW', () => {
  it('matches a hand-computed torch.optim.AdamW step (with decoupled weight decay)', () => {
    const model = withGrads({ b1: [0.5, -2] });
    model.params.get('b1')!.set([1, -1]);
    const hp = { learning_rate: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.01, grad_clip_norm: 0 };
    const metrics = adamwStep(model, hp);
    // Step 1: m = 0.1g, v = 0.05g², m̂ = g, v̂ = g² → p·(1 − lr·wd) − lr·g/(|g| + eps)
    const expected = [1 * (1 - 0.001) - (0.1 * 0.5) / (0.5 + 1e-8), -1 * (1 - 0.001) - (0.1 * -2) / (2 + 1e-8)];
    const b1 = model.params.get('b1')!;
    expect(b1[0]).toBeCloseTo(Math.fround(expected[0]), 7);
    expect(b1[1]).toBeCloseTo(Math.fround(expected[1]), 7);
    expect(model.adamM.get('b1')![1]).toBeCloseTo(-0.2, 7);
    expect(model.adamV.get('b1')![1]).toBeCloseTo(0.05 * 4, 7);
    expect(metrics['grad_norm:mean']).toBeCloseTo(Math.hypot(0.5, 2), 12);
    expect(metrics['lr:mean']).toBe(0.1);
    // Step 2 with g = 1 on b1[0]: bias corrections 1−0.9², 1−0.95².
    model.grads.get('b1')!.set([1, 0]);
    const p0 = b1[0];
    adamwStep(model, hp);
    const m = 0.9 * 0.05 + 0.1 * 1;
    const v = 0.95 * (0.05 * 0.25) + 0.05 * 1;
    const step2 = p0 * (1 - 0.001) - (0.1 / (1 - 0.81)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.9025) + 1e-8));
    expect(b1[0]).toBeCloseTo(step2, 6);
    expect(model.step).toBe(2);
  });

  it('clips the global gradient norm across tensors', () => {
    const model = withGrads({ b1: [3], b2: [4] });
    const before = [model.params.get('b1')![0], model.params.get('b2')![0]];
    const metrics = adamwStep(model, { ...ADAM_DEFAULTS, learning_rate: 0.1, grad_clip_norm: 1 });
    expect(metrics['grad_norm:mean']).toBeCloseTo(5, 12);
    // Clipped g = (0.6, 0.8): m = 0.1·g, so m after the step records the clipped gradient.
    expect(model.adamM.get('b1')![0]).toBeCloseTo(0.06, 6);
    expect(model.adamM.get('b2')![0]).toBeCloseTo(0.08, 6);
    // First Adam step moves each coordinate by lr·sign(g) regardless of scale.
    expect(model.params.get('b1')![0]).toBeCloseTo(before[0] - 0.1, 6);
    expect(model.params.get('b2')![0]).toBeCloseTo(before[1] - 0.1, 6);
  });

  it('leaves tensors with zero gradient unchanged when weight decay is 0, and zeroes grads', () => {
    const model = withGrads({ b1: [1] });
    const W2 = Float64Array.from(model.params.get('W2')!);
    adamwStep(model, { ...ADAM_DEFAULTS, learning_rate: 0.5 });
    expect(model.params.get('W2')).toEqual(W2);
    expect(model.grads.get('b1')!.every((x) => x === 0)).toBe(true);
  });
});
