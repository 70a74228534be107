"""AdamW as torch.optim.AdamW (decoupled weight decay, bias-corrected moments) with the Tinker
defaults and an optional global-norm clip (torch's clip_grad_norm_ rule: scale by
clip/(norm+1e-6) when below 1). Written out by hand in the same operation order as
plugins/tinker/tiny/adamw.ts; parameters and moments are rounded to float32 after the update.
"""

import math

import torch

from .tinylm import round_f32_

DEFAULTS = {"beta1": 0.9, "beta2": 0.95, "eps": 1e-12, "weight_decay": 0.0, "grad_clip_norm": 0.0}


def adamw_step(model, hp):
    """One step on ``model`` with ``hp`` (learning_rate, beta1, beta2, eps, weight_decay,
    grad_clip_norm). Returns metrics ``grad_norm:mean`` (before clipping), ``lr:mean``, ``step:max``."""
    with torch.no_grad():
        grads = {n: model.grad_of(n).detach() for n in model.trainable}
        sq = sum(float((g * g).sum()) for g in grads.values())
        norm = math.sqrt(sq)
        scale = 1.0
        clip = hp.get("grad_clip_norm", 0.0) or 0.0
        if clip > 0:
            coef = clip / (norm + 1e-6)
            if coef < 1:
                scale = coef
        model.step += 1
        t = model.step
        lr = hp["learning_rate"]
        b1, b2, eps, wd = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
        bc1 = 1 - b1**t
        bc2 = 1 - b2**t
        for name in model.trainable:
            p = model.params[name]
            g = grads[name] * scale
            m = model.adam_m[name]
            v = model.adam_v[name]
            new_p = p * (1 - lr * wd)
            new_m = b1 * m + (1 - b1) * g
            new_v = b2 * v + (1 - b2) * g * g
            new_p = new_p - (lr / bc1) * (new_m / (torch.sqrt(new_v) / math.sqrt(bc2) + eps))
            p.copy_(new_p)
            m.copy_(new_m)
            v.copy_(new_v)
            round_f32_(p)
            round_f32_(m)
            round_f32_(v)
        model.zero_grads()
    return {"grad_norm:mean": norm, "lr:mean": lr, "step:max": t}
