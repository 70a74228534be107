/**
 * The five Tinker losses (training-apis §2.6) as per-token functions of the target logprob
 * `lp_t`: each gives the token's loss and g_t = ∂L/∂lp_t, which the model backpropagates
 * through ∂lp_t/∂logits_t = onehot(target_t) − softmax(logits_t). Losses are sums over tokens
 * (and, by the caller, over data); nothing is normalised.
 *
 * @module
 */
import { userError, type Datum, type LossFn } from '../protocol/index.ts';

/** The loss and ∂L/∂lp of one token. */
export type TokenLoss = (t: number, lp: number) => { loss: number; grad: number };

/** PPO/CISPO default ratio bounds (ε = 0.2); DRO default β. */
export const LOSS_DEFAULTS = { clip_low_threshold: 0.8, clip_high_threshold: 1.2, beta: 0.05 } as const;

function input(datum: Datum, key: string, n: number, required: boolean): ArrayLike<number> | undefined {
  const tensor = datum.loss_fn_inputs[key];
  if (!tensor) {
    if (required) throw userError(`loss_fn_inputs.${key} is required for this loss`);
    return undefined;
  }
  if (tensor.shape && tensor.shape.length > 1) throw userError(`loss_fn_inputs.${key}: only 1-D tensors are supported (got shape [${tensor.shape.join(',')}])`);
  if (tensor.data.length !== n) throw userError(`loss_fn_inputs.${key} has ${tensor.data.length} values; the input has ${n} tokens`);
  return tensor.data;
}

const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/**
 * The per-token loss of `lossFn` for one datum of `n` tokens. Throws a user error for missing
 * or mis-sized inputs. `mask` (0/1) multiplies the RL losses; cross_entropy `weights` default
 * to 1 and may be any real number (custom losses send −dC/dlp as weights).
 */
export function tokenLoss(lossFn: LossFn, datum: Datum, n: number, config: Record<string, number> = {}): TokenLoss {
  if (lossFn === 'cross_entropy') {
    const w = input(datum, 'weights', n, false);
    return (t, lp) => {
      const wt = w ? w[t] : 1;
      return { loss: -wt * lp, grad: -wt };
    };
  }
  const q = input(datum, 'logprobs', n, true)!;
  const adv = input(datum, 'advantages', n, true)!;
  const mask = input(datum, 'mask', n, false);
  const lo = config.clip_low_threshold ?? LOSS_DEFAULTS.clip_low_threshold;
  const hi = config.clip_high_threshold ?? LOSS_DEFAULTS.clip_high_threshold;
  const beta = config.beta ?? LOSS_DEFAULTS.beta;
  if (lo > hi) throw userError(`clip_low_threshold (${lo}) is above clip_high_threshold (${hi}); they are absolute ratio bounds, e.g. 0.8 and 1.2`);
  const per = (t: number, lp: number): { loss: number; grad: number } => {
    const a = adv[t];
    switch (lossFn) {
      case 'importance_sampling': {
        const r = Math.exp(lp - q[t]);
        return { loss: -r * a, grad: -a * r };
      }
      case 'ppo': {
        const r = Math.exp(lp - q[t]);
        const unclipped = r * a;
        const clipped = clip(r, lo, hi) * a;
        // The gradient flows only when the unclipped term is the active minimum.
        return unclipped <= clipped ? { loss: -unclipped, grad: -a * r } : { loss: -clipped, grad: 0 };
      }
      case 'cispo': {
        const c = clip(Math.exp(lp - q[t]), lo, hi); // stop-gradient weight
        return { loss: -c * lp * a, grad: -c * a };
      }
      case 'dro': {
        const diff = lp - q[t];
        return { loss: -(lp * a - 0.5 * beta * diff * diff), grad: -(a - beta * diff) };
      }
      default:
        throw userError(`unknown loss_fn ${String(lossFn)}`);
    }
  };
  if (!mask) return per;
  return (t, lp) => {
    const m = mask[t];
    if (m === 0) return { loss: 0, grad: 0 };
    const r = per(t, lp);
    return { loss: r.loss * m, grad: r.grad * m };
  };
}
