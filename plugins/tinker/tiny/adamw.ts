/**
 * AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with
 * the Tinker SDK defaults and an optional global-norm clip (torch's clip_grad_norm_ rule:
 * scale by clip/(norm+1e-6) when that is below 1). Applies the accumulated gradients of the
 * trainable tensors, then zeroes them.
 *
 * @module
 */
import type { TinyLM } from './model.ts';

/** Hyper-parameters of one step (the bwp/1 `adam_params` after defaults). */
export interface AdamParams {
  learning_rate: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  grad_clip_norm: number;
}

/** Tinker SDK defaults (training-apis §0.3). */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0 } as const;

/**
 * One AdamW step on `model`. Returns metrics: `grad_norm:mean` (before clipping), `lr:mean`,
 * `step:max` (the step just taken, 1-based).
 */
export function adamwStep(model: TinyLM, hp: AdamParams): Record<string, number> {
  model.materializeGrads();
  let sq = 0;
  for (const name of model.trainable) for (const g of model.grads.get(name)!) sq += g * g;
  const norm = Math.sqrt(sq);
  let gradScale = 1;
  if (hp.grad_clip_norm > 0) {
    const coef = hp.grad_clip_norm / (norm + 1e-6);
    if (coef < 1) gradScale = coef;
  }
  model.step += 1;
  const t = model.step;
  const lr = hp.learning_rate;
  const bc1 = 1 - hp.beta1 ** t;
  const bc2 = 1 - hp.beta2 ** t;
  for (const name of model.trainable) {
    const p = model.params.get(name)!;
    const g = model.grads.get(name)!;
    const m = model.adamM.get(name)!;
    const v = model.adamV.get(name)!;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * gradScale;
      let pi = p[i] * (1 - lr * hp.weight_decay);
      const mi = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
      const vi = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
      pi -= (lr / bc1) * (mi / (Math.sqrt(vi) / Math.sqrt(bc2) + hp.eps));
      // Kept at float32 precision so checkpoints round-trip exactly.
      p[i] = Math.fround(pi);
      m[i] = Math.fround(mi);
      v[i] = Math.fround(vi);
    }
    g.fill(0);
  }
  model.zeroGrads();
  model.weightsChanged();
  return { 'grad_norm:mean': norm, 'lr:mean': lr, 'step:max': t };
}
