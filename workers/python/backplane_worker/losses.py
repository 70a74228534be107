"""The five Tinker losses (training-apis §2.6) as differentiable per-token terms.

Each returns the elementwise loss (length N) as a function of the target logprobs ``lp``;
the caller sums it (losses are sums over tokens and data, never normalised) and lets autograd
backpropagate. ``mask`` (0/1) multiplies the RL losses; cross_entropy ``weights`` default to 1
and may be any real number (custom losses send -dC/dlp as weights).
"""

import json

import torch

from .errors import user_error
from .params import tensor_data

LOSS_FNS = ("cross_entropy", "importance_sampling", "ppo", "cispo", "dro")
DEFAULTS = {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2, "beta": 0.05}


def _input(inputs, key, n, required, where, dtype, device):
    value = inputs.get(key)
    if value is None:
        if required:
            raise user_error(f"{where}.loss_fn_inputs.{key} is required for this loss")
        return None
    data = tensor_data(value, f"{where}.loss_fn_inputs.{key}")
    if len(data) != n:
        raise user_error(f"{where}.loss_fn_inputs.{key} has {len(data)} values; the input has {n} tokens")
    return torch.tensor(data, dtype=dtype, device=device)


def prepare(loss_fn, inputs, n, where, config, dtype, device):
    """Validate one datum's loss inputs; returns ``fn(lp) -> elementwise loss``."""
    if loss_fn not in LOSS_FNS:
        raise user_error(f"unknown loss_fn {json.dumps(loss_fn)}; expected one of {', '.join(LOSS_FNS)}")
    if loss_fn == "cross_entropy":
        w = _input(inputs, "weights", n, False, where, dtype, device)
        return (lambda lp: -lp) if w is None else (lambda lp: -w * lp)
    q = _input(inputs, "logprobs", n, True, where, dtype, device)
    adv = _input(inputs, "advantages", n, True, where, dtype, device)
    mask = _input(inputs, "mask", n, False, where, dtype, device)
    lo = float(config.get("clip_low_threshold", DEFAULTS["clip_low_threshold"]))
    hi = float(config.get("clip_high_threshold", DEFAULTS["clip_high_threshold"]))
    beta = float(config.get("beta", DEFAULTS["beta"]))
    if lo > hi:
        raise user_error(
            f"clip_low_threshold ({lo}) is above clip_high_threshold ({hi}); they are absolute ratio bounds, e.g. 0.8 and 1.2"
        )

    def per(lp):
        if loss_fn == "importance_sampling":
            return -torch.exp(lp - q) * adv
        if loss_fn == "ppo":
            r = torch.exp(lp - q)
            return -torch.minimum(r * adv, torch.clamp(r, lo, hi) * adv)
        if loss_fn == "cispo":
            c = torch.clamp(torch.exp(lp - q), lo, hi).detach()  # stop-gradient weight
            return -c * lp * adv
        diff = lp - q  # dro
        return -(lp * adv - 0.5 * beta * diff * diff)

    if mask is None:
        return per
    return lambda lp: per(lp) * mask
