"""The bwp/1 method table of the Python worker (TinyLM in torch + Hugging Face train jobs)."""

import json
import os
import tempfile
import threading

import torch

from . import checkpoint
from . import params as P
from .adamw import DEFAULTS as ADAM_DEFAULTS
from .adamw import adamw_step
from .errors import user_error
from .losses import LOSS_FNS, prepare
from .sampling import sample
from .tinylm import BASE_MODELS, TinyLM, tiny_config
from .tokenizer import tokenizer_info, write_tokenizer_files
from . import train_job as TJ
from .libs import devices

# Methods that run on the lane of their model_id (arrival order, one at a time per model).
_LANE_METHODS = {
    "create_model",
    "unload_model",
    "forward",
    "forward_backward",
    "optim_step",
    "save_weights",
    "load_weights",
    "get_gradients",
    "get_weights",
}
_THREAD_METHODS = {"sample", "train_job", "validate_output"}


def default_device():
    want = os.environ.get("BACKPLANE_WORKER_DEVICE")
    if want:
        return want
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device):
    name = os.environ.get("BACKPLANE_WORKER_DTYPE")
    if name in ("float32", "float64"):
        return getattr(torch, name)
    # float64 on CPU keeps the numbers comparable with the TS worker to ~1e-12.
    return torch.float64 if str(device).startswith("cpu") else torch.float32


class Methods:
    def __init__(self, worker_id=None):
        self.worker_id = worker_id or os.environ.get("BACKPLANE_WORKER_ID") or f"worker-{os.getpid()}"
        self.device = default_device()
        self.dtype = default_dtype(self.device)
        self.models = {}
        self._models_lock = threading.Lock()
        self._tokenizer_dir = None
        self.handlers = {
            "create_model": self.create_model,
            "unload_model": self.unload_model,
            "get_info": self.get_info,
            "tokenizer_info": self.tokenizer_info,
            "forward": lambda p, c: self.forward(p, c, backward=False),
            "forward_backward": lambda p, c: self.forward(p, c, backward=True),
            "optim_step": self.optim_step,
            "save_weights": self.save_weights,
            "load_weights": self.load_weights,
            "sample": self.sample,
            "get_gradients": self.get_gradients,
            "get_weights": self.get_weights,
            "train_job": self.train_job,
            "validate_output": self.validate_output,
        }

    # ---- dispatch ----------------------------------------------------------------------------
    def lane(self, method, params):
        if method in _THREAD_METHODS:
            return "thread"
        if method in _LANE_METHODS and isinstance(params, dict) and isinstance(params.get("model_id"), str):
            return "model:" + params["model_id"]
        return None

    def hello(self):
        return {
            "protocol": "bwp/1",
            "worker_id": self.worker_id,
            "pid": os.getpid(),
            "backend": "torch",
            "devices": devices(),
            "capabilities": {
                "losses": list(LOSS_FNS),
                "sampling": True,
                "lora": True,
                "proto": False,
                "train_job": True,
                "introspection": True,
            },
            "models": list(BASE_MODELS),
        }

    # ---- helpers -----------------------------------------------------------------------------
    def _entry(self, model_id):
        with self._models_lock:
            e = self.models.get(model_id)
        if e is None:
            raise user_error(f"unknown model_id {json.dumps(model_id)}", reason="not_found")
        return e

    @staticmethod
    def _model_id(p):
        return P.string(P.obj(p), "model_id", max_len=256)

    # ---- methods -----------------------------------------------------------------------------
    def create_model(self, p, ctx):
        p = P.obj(p)
        model_id = self._model_id(p)
        base_model = P.string(p, "base_model")
        lora = P.obj(p.get("lora_config"), "lora_config") if "lora_config" in p else None
        if lora is None:
            raise user_error("invalid params: lora_config: required")
        rank = P.integer(lora, "rank", path="lora_config", minimum=0, maximum=1024)
        alpha = P.number(lora, "alpha", None, path="lora_config", positive=True)
        if alpha is not None and float(alpha).is_integer():
            alpha = int(alpha)
        flags = {f: P.boolean(lora, f, True, path="lora_config") for f in ("train_mlp", "train_attn", "train_unembed")}
        seed = P.integer(lora, "seed", None, path="lora_config")
        if seed is None:
            seed = P.integer(p, "seed", 0)
        ckpt = P.string(p, "checkpoint_path", None)
        with self._models_lock:
            if model_id in self.models:
                raise user_error(f"model_id {json.dumps(model_id)} already exists")
        if ckpt:
            header, tensors = checkpoint.read(ckpt)
            model = checkpoint.model_from(header, tensors, device=self.device, dtype=self.dtype)
        else:
            if base_model not in BASE_MODELS:
                raise user_error(
                    f"unknown base_model {json.dumps(base_model)}; this worker serves: {', '.join(BASE_MODELS)} "
                    "(Hugging Face models train through train_job)"
                )
            model = TinyLM(tiny_config(rank, alpha, **flags), seed=seed, device=self.device, dtype=self.dtype)
        with self._models_lock:
            self.models[model_id] = {"model": model, "base_model": base_model}
        return {"model_id": model_id, "parameters": model.parameter_count, "trainable_parameters": model.trainable_count}

    def unload_model(self, p, ctx):
        model_id = self._model_id(p)
        self._entry(model_id)
        with self._models_lock:
            self.models.pop(model_id, None)
        return {}

    def _tokenizer_path(self):
        if self._tokenizer_dir is None:
            d = os.path.join(tempfile.gettempdir(), "backplane-torch-tokenizer-v1")
            write_tokenizer_files(d)
            self._tokenizer_dir = d
        return self._tokenizer_dir

    def get_info(self, p, ctx):
        e = self._entry(self._model_id(p))
        m = e["model"]
        c = m.config
        return {
            "model_data": {"model_name": e["base_model"], "tokenizer_id": self._tokenizer_path(), "arch": "tinylm"},
            "lora_rank": c["rank"],
            "is_lora": c["rank"] > 0,
            "lora_config": {k: c[k] for k in ("rank", "alpha", "train_mlp", "train_attn", "train_unembed")},
            "step": m.step,
            "parameters": m.parameter_count,
            "trainable_parameters": m.trainable_count,
            "device": str(m.device),
            "dtype": str(m.dtype).replace("torch.", ""),
        }

    def tokenizer_info(self, p, ctx):
        self._entry(self._model_id(p))
        return tokenizer_info()

    def forward(self, p, ctx, backward):
        p = P.obj(p)
        m = self._entry(self._model_id(p))["model"]
        loss_fn = P.string(p, "loss_fn")
        if loss_fn not in LOSS_FNS:
            raise user_error(f"invalid params: loss_fn: expected one of {', '.join(LOSS_FNS)}")
        config = P.obj(p.get("loss_fn_config"), "loss_fn_config")
        for k, v in config.items():
            P.number(config, k, path="loss_fn_config")
        data = p.get("data")
        if not isinstance(data, list):
            raise user_error("invalid params: data: expected an array")
        V = m.config["V"]
        prepared = []
        # Validate everything first so a bad datum leaves the gradients untouched.
        for i, datum in enumerate(data):
            where = f"data[{i}]"
            datum = P.obj(datum, where)
            mi = P.obj(datum.get("model_input"), f"{where}.model_input")
            chunks = mi.get("chunks")
            if not isinstance(chunks, list):
                raise user_error(f"invalid params: {where}.model_input.chunks: expected an array")
            tokens = []
            for j, ch in enumerate(chunks):
                ch = P.obj(ch, f"{where}.model_input.chunks.{j}")
                if ch.get("type") != "encoded_text":
                    raise user_error(f"invalid params: {where}.model_input.chunks.{j}.type: only encoded_text chunks are supported")
                tokens += P.int_list(ch.get("tokens"), f"{where}.model_input.chunks.{j}.tokens")
            inputs = P.obj(datum.get("loss_fn_inputs"), f"{where}.loss_fn_inputs")
            if inputs.get("target_tokens") is None:
                raise user_error(f"invalid params: {where}.loss_fn_inputs.target_tokens: required")
            targets = P.tensor_data(inputs["target_tokens"], f"{where}.loss_fn_inputs.target_tokens")
            if len(targets) != len(tokens):
                raise user_error(f"{where}: target_tokens has {len(targets)} values; model_input has {len(tokens)} tokens")
            for t in tokens + targets:
                if not float(t).is_integer() or t < 0 or t >= V:
                    raise user_error(f"{where}: token {t:g} is outside the vocabulary (0..{V - 1})")
            fn = prepare(loss_fn, inputs, len(tokens), where, config, m.dtype, m.device)
            prepared.append((tokens, [int(t) for t in targets], fn))
        outputs, total = [], 0.0
        with m.lock:
            grad_ctx = torch.enable_grad() if backward else torch.no_grad()
            with grad_ctx:
                eff = m.effective()
                losses = []
                for tokens, targets, fn in prepared:
                    if not tokens:
                        outputs.append(([], []))
                        continue
                    tt = torch.tensor(targets, dtype=torch.long, device=m.device)
                    lp = m.target_logprobs(eff, m.windows(tokens), tt)
                    el = fn(lp)
                    losses.append(el.sum())
                    outputs.append((lp.detach().to(torch.float32).tolist(), el.detach().to(torch.float32).tolist()))
                    total += float(el.detach().sum())
                if backward and losses:
                    loss = torch.stack(losses).sum()
                    if loss.requires_grad:
                        loss.backward()
        return {
            "loss_fn_output_type": "TensorData",
            "loss_fn_outputs": [
                {
                    "logprobs": {"data": lp, "dtype": "float32", "shape": [len(lp)]},
                    "elementwise_loss": {"data": el, "dtype": "float32", "shape": [len(el)]},
                }
                for lp, el in outputs
            ],
            "metrics": {"loss:sum": total},
        }

    def optim_step(self, p, ctx):
        p = P.obj(p)
        m = self._entry(self._model_id(p))["model"]
        ap = P.obj(p.get("adam_params"), "adam_params")
        if "adam_params" not in p:
            raise user_error("invalid params: adam_params: required")
        hp = {
            "learning_rate": P.number(ap, "learning_rate", path="adam_params", minimum=0),
            "beta1": P.number(ap, "beta1", ADAM_DEFAULTS["beta1"], path="adam_params", minimum=0, maximum=1),
            "beta2": P.number(ap, "beta2", ADAM_DEFAULTS["beta2"], path="adam_params", minimum=0, maximum=1),
            "eps": P.number(ap, "eps", ADAM_DEFAULTS["eps"], path="adam_params", minimum=0),
            "weight_decay": P.number(ap, "weight_decay", ADAM_DEFAULTS["weight_decay"], path="adam_params", minimum=0),
            "grad_clip_norm": P.number(ap, "grad_clip_norm", ADAM_DEFAULTS["grad_clip_norm"], path="adam_params", minimum=0),
        }
        with m.lock:
            return {"metrics": adamw_step(m, hp)}

    def save_weights(self, p, ctx):
        p = P.obj(p)
        e = self._entry(self._model_id(p))
        path = P.string(p, "path")
        kind = P.string(p, "kind")
        if kind not in ("training", "sampler"):
            raise user_error("invalid params: kind: expected training or sampler")
        with e["model"].lock:
            size = checkpoint.save(e["model"], path, kind, e["base_model"])
        return {"path": path, "bytes": size}

    def load_weights(self, p, ctx):
        p = P.obj(p)
        e = self._entry(self._model_id(p))
        path = P.string(p, "path")
        optimizer = P.boolean(p, "optimizer", False)
        header, tensors = checkpoint.read(path)
        checkpoint.apply(e["model"], header, tensors, optimizer)
        return {}

    def sample(self, p, ctx):
        p = P.obj(p)
        m = self._entry(self._model_id(p))["model"]
        prompt = P.int_list(p.get("prompt_tokens"), "prompt_tokens")
        for t in prompt:
            if t >= m.config["V"]:
                raise user_error(f"prompt token {t} is outside the vocabulary (0..{m.config['V'] - 1})")
        num = P.integer(p, "num_samples", 1, minimum=1, maximum=1024)
        sp = P.obj(p.get("sampling_params"), "sampling_params")
        if "sampling_params" not in p:
            raise user_error("invalid params: sampling_params: required")
        stop_strings = sp.get("stop_strings")
        if stop_strings is not None and (not isinstance(stop_strings, list) or not all(isinstance(s, str) for s in stop_strings)):
            raise user_error("invalid params: sampling_params.stop_strings: expected an array of strings")
        stop_ids = sp.get("stop_token_ids")
        params = {
            "max_tokens": P.integer(sp, "max_tokens", path="sampling_params", minimum=0),
            "temperature": P.number(sp, "temperature", 1.0, path="sampling_params", minimum=0),
            "top_p": P.number(sp, "top_p", 1.0, path="sampling_params", maximum=1),
            "top_k": P.integer(sp, "top_k", -1, path="sampling_params"),
            "seed": P.integer(sp, "seed", None, path="sampling_params"),
            "stop_strings": stop_strings,
            "stop_token_ids": None if stop_ids is None else P.int_list(stop_ids, "sampling_params.stop_token_ids"),
        }
        if params["top_p"] <= 0:
            raise user_error("invalid params: sampling_params.top_p: must be > 0")
        want = P.boolean(p, "prompt_logprobs", False)
        return sample(m, prompt, num, params, want, ctx)

    def _tensors(self, m, names, source):
        return {"tensors": {n: {"shape": m.shapes[n], "data": source(n).detach().reshape(-1).tolist()} for n in names}}

    def get_gradients(self, p, ctx):
        m = self._entry(self._model_id(p))["model"]
        with m.lock:
            return self._tensors(m, m.trainable, m.grad_of)

    def get_weights(self, p, ctx):
        m = self._entry(self._model_id(p))["model"]
        with m.lock:
            return self._tensors(m, list(m.params), lambda n: m.params[n])

    def train_job(self, p, ctx):
        p = P.obj(p)
        job_id = P.string(p, "job_id", max_len=256)
        spec = P.obj(p.get("spec"), "spec")
        if "spec" not in p:
            raise user_error("invalid params: spec: required")
        dataset_path = P.string(p, "dataset_path")
        output_dir = P.string(p, "output_dir")
        return TJ.run_train_job(job_id, spec, dataset_path, output_dir, ctx, device=self.device, dtype=self.dtype)

    def validate_output(self, p, ctx):
        path = P.string(P.obj(p), "path")
        return TJ.validate_output(path)
