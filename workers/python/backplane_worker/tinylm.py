"""TinyLM in PyTorch, exactly as pinned by the bwp/1 contract (and plugins/tinker/tiny/model.ts).

Position t predicts ``target[t]`` from the window (x_{t-3}, ..., x_t) (``<pad>`` before 0):
x = concat(E'[x_{t-3}], ..., E'[x_t]); h = tanh(W1'x + b1); logits = W2'h + b2, with
W' = W + (alpha/rank) B A for each adapted matrix. Gradients come from autograd and accumulate
in ``.grad`` until ``optim_step``. Parameters and Adam state are kept at float32 precision
(rounded after init and every update) so ``.bwpt`` checkpoints round-trip exactly; arithmetic
runs in the worker's dtype (float64 on CPU by default).
"""

import math
import threading

import torch

from .rng import mulberry32, uniform_list
from .tokenizer import PAD, VOCAB_SIZE

DIMS = {"V": VOCAB_SIZE, "k": 4, "d": 16, "H": 64}
DEFAULT_ALPHA = 32
BASE_MODELS = ("tiny-lm",)
_ADAPTED = {"E": "train_attn", "W1": "train_mlp", "W2": "train_unembed"}
CONFIG_KEYS = ("V", "k", "d", "H", "rank", "train_mlp", "train_attn", "train_unembed")


def tiny_config(rank, alpha=None, train_mlp=True, train_attn=True, train_unembed=True):
    cfg = dict(DIMS)
    cfg.update(
        rank=int(rank),
        alpha=DEFAULT_ALPHA if alpha is None else alpha,
        train_mlp=bool(train_mlp),
        train_attn=bool(train_attn),
        train_unembed=bool(train_unembed),
    )
    return cfg


def round_f32_(t):
    """In place: round a tensor's values to float32 precision, keeping its dtype."""
    with torch.no_grad():
        t.copy_(t.to(torch.float32).to(t.dtype))
    return t


class TinyLM:
    """A TinyLM with gradient buffers (autograd ``.grad``) and AdamW state."""

    def __init__(self, config, seed=0, device="cpu", dtype=torch.float64, init=True):
        self.config = dict(config)
        self.device = torch.device(device)
        self.dtype = dtype
        self.lock = threading.RLock()
        V, k, d, H, rank = (self.config[n] for n in ("V", "k", "d", "H", "rank"))
        inputs = k * d
        self.params = {}
        self.shapes = {}
        base = mulberry32(0) if init else None

        def add(name, shape, lo=None, rng=None):
            n = math.prod(shape)
            if init and lo is not None:
                values = torch.tensor(uniform_list(n, rng, lo, -lo), dtype=dtype).reshape(shape)
            else:
                values = torch.zeros(shape, dtype=dtype)
            self.params[name] = values.to(self.device)
            self.shapes[name] = list(shape)

        add("E", [V, d], -0.1, base)
        add("W1", [H, inputs], -1 / math.sqrt(inputs), base)
        add("b1", [H])
        add("W2", [V, H], -1 / math.sqrt(H), base)
        add("b2", [V])
        trainable = []
        if rank == 0:
            trainable += ["E", "W1", "b1", "W2", "b2"]
        else:
            rng = mulberry32(seed) if init else None
            for name in ("E", "W1", "W2"):
                if not self.config[_ADAPTED[name]]:
                    continue
                out, in_dim = self.shapes[name]
                add(f"{name}.lora_A", [rank, in_dim], -1 / math.sqrt(in_dim), rng)
                add(f"{name}.lora_B", [out, rank])
                trainable += [f"{name}.lora_A", f"{name}.lora_B"]
            if self.config["train_mlp"]:
                trainable.append("b1")
            if self.config["train_unembed"]:
                trainable.append("b2")
        self.trainable = trainable
        for name in trainable:
            self.params[name].requires_grad_(True)
        self.adam_m = {n: torch.zeros_like(self.params[n], requires_grad=False) for n in trainable}
        self.adam_v = {n: torch.zeros_like(self.params[n], requires_grad=False) for n in trainable}
        self.step = 0

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def scale(self):
        return 0.0 if self.config["rank"] == 0 else self.config["alpha"] / self.config["rank"]

    @property
    def parameter_count(self):
        return sum(p.numel() for p in self.params.values())

    @property
    def trainable_count(self):
        return sum(self.params[n].numel() for n in self.trainable)

    # ---- forward -----------------------------------------------------------------------------
    def effective(self):
        """E', W1', b1, W2', b2 (differentiable w.r.t. the trainable tensors)."""
        p = self.params
        s = self.scale

        def merged(name):
            A = p.get(f"{name}.lora_A")
            B = p.get(f"{name}.lora_B")
            return p[name] if A is None else p[name] + s * (B @ A)

        return {"E": merged("E"), "W1": merged("W1"), "b1": p["b1"], "W2": merged("W2"), "b2": p["b2"]}

    def windows(self, tokens):
        """[n, k] context windows of ``tokens`` (oldest first, ``<pad>`` before position 0)."""
        k = self.config["k"]
        padded = torch.tensor([PAD] * (k - 1) + list(tokens), dtype=torch.long, device=self.device)
        return padded.unfold(0, k, 1)

    def hidden_of_windows(self, eff, windows):
        n = windows.shape[0]
        x = eff["E"][windows].reshape(n, -1)
        return torch.tanh(x @ eff["W1"].T + eff["b1"])

    def log_softmax_of_windows(self, eff, windows):
        h = self.hidden_of_windows(eff, windows)
        return torch.log_softmax(h @ eff["W2"].T + eff["b2"], dim=-1)

    def target_logprobs(self, eff, windows, targets):
        lsm = self.log_softmax_of_windows(eff, windows)
        return lsm.gather(1, targets.view(-1, 1)).view(-1)

    def next_logprobs(self, eff, context):
        """Log-softmax of the next token after ``context`` (window ending at its last token)."""
        k = self.config["k"]
        last = ([PAD] * k + list(context))[-k:]
        w = torch.tensor([last], dtype=torch.long, device=self.device)
        return self.log_softmax_of_windows(eff, w)[0]

    # ---- gradients ---------------------------------------------------------------------------
    def grad_of(self, name):
        g = self.params[name].grad
        return torch.zeros_like(self.params[name]) if g is None else g

    def zero_grads(self):
        for name in self.trainable:
            self.params[name].grad = None

    def snapshot(self):
        """Detached effective weights (for sampling while training continues)."""
        with self.lock, torch.no_grad():
            return {k: v.detach().clone() for k, v in self.effective().items()}
