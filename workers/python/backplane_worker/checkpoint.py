"""The ``.bwpt`` checkpoint file both workers read and write:
``[u32 LE headerLength][header JSON, UTF-8][raw float32 LE data]``.

A ``training`` checkpoint also holds ``<name>.adam_m`` / ``<name>.adam_v`` for every trainable
tensor and the Adam ``step``; a ``sampler`` checkpoint holds weights only.
"""

import array
import json
import math
import os
import struct
import sys

import torch

from .errors import user_error
from .tinylm import CONFIG_KEYS, TinyLM

FORMAT = "bwp-tensors/1"


def encode(meta, tensors):
    """``meta`` (backend, config, kind, step, ...) plus ``[(name, shape, tensor)]`` → bytes."""
    entries, blobs, offset = [], [], 0
    for name, shape, t in tensors:
        arr = array.array("f", t.detach().to("cpu", torch.float32).reshape(-1).tolist())
        if sys.byteorder != "little":
            arr.byteswap()
        blob = arr.tobytes()
        entries.append({"name": name, "dtype": "float32", "shape": list(shape), "offset": offset, "byteLength": len(blob)})
        blobs.append(blob)
        offset += len(blob)
    header = dict(format=FORMAT, **meta, tensors=entries)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return struct.pack("<I", len(head)) + head + b"".join(blobs)


def decode(buf, source="checkpoint"):
    """bytes → (header, {name: (shape, float32 tensor)}); malformed files are user errors."""
    if len(buf) < 4:
        raise user_error(f"{source}: not a bwpt file (too short)")
    (head_len,) = struct.unpack_from("<I", buf, 0)
    if 4 + head_len > len(buf):
        raise user_error(f"{source}: header length {head_len} exceeds the file")
    try:
        header = json.loads(buf[4 : 4 + head_len].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise user_error(f"{source}: header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        got = header.get("format") if isinstance(header, dict) else None
        raise user_error(f"{source}: format is {json.dumps(got)}, expected {FORMAT}")
    if not isinstance(header.get("tensors"), list):
        raise user_error(f"{source}: header has no tensors list")
    base = 4 + head_len
    tensors = {}
    for t in header["tensors"]:
        try:
            name, shape, off, length = t["name"], [int(s) for s in t["shape"]], int(t["offset"]), int(t["byteLength"])
        except (KeyError, TypeError, ValueError):
            raise user_error(f"{source}: a tensor entry is malformed") from None
        count = math.prod(shape)
        if t.get("dtype") != "float32" or length != count * 4 or off < 0 or base + off + length > len(buf):
            raise user_error(f"{source}: tensor {name} has a bad dtype, shape or byte range")
        arr = array.array("f")
        arr.frombytes(buf[base + off : base + off + length])
        if sys.byteorder != "little":
            arr.byteswap()
        tensors[name] = (shape, torch.tensor(arr, dtype=torch.float32).reshape(shape))
    return header, tensors


def read(path):
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as exc:
        raise user_error(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    return decode(buf, path)


def save(model, path, kind, base_model="tiny-lm"):
    """Writes ``model`` to ``path`` (parent dirs created); returns the byte size."""
    tensors = [(n, model.shapes[n], model.params[n]) for n in model.params]
    if kind == "training":
        for n in model.trainable:
            tensors.append((f"{n}.adam_m", model.shapes[n], model.adam_m[n]))
            tensors.append((f"{n}.adam_v", model.shapes[n], model.adam_v[n]))
    meta = {"backend": "tiny", "config": model.config, "kind": kind, "step": model.step, "base_model": base_model}
    data = encode(meta, tensors)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def apply(model, header, tensors, optimizer):
    """Load weights (configs must match, alpha included), and Adam state + step when
    ``optimizer``; without it the Adam state is reset. Gradients are zeroed either way."""
    cfg = header.get("config") or {}
    for key in CONFIG_KEYS + ("alpha",):
        if cfg.get(key) != model.config[key]:
            raise user_error(
                f"checkpoint {key} is {json.dumps(cfg.get(key))} but the model's {key} is {json.dumps(model.config[key])}"
            )
    if optimizer and header.get("kind") != "training":
        raise user_error("a sampler checkpoint holds no optimizer state; load it with optimizer:false")
    loaded = {}
    for name, p in model.params.items():
        t = tensors.get(name)
        if t is None or t[1].numel() != p.numel():
            raise user_error(f"checkpoint lacks tensor {name} of shape [{','.join(map(str, model.shapes[name]))}]")
        loaded[name] = t[1]
    moments = {}
    if optimizer:
        for name in model.trainable:
            tm, tv = tensors.get(f"{name}.adam_m"), tensors.get(f"{name}.adam_v")
            if tm is None or tv is None:
                raise user_error(f"checkpoint lacks the Adam state of {name}")
            moments[name] = (tm[1], tv[1])
    with model.lock, torch.no_grad():
        for name, p in model.params.items():
            p.copy_(loaded[name].reshape(p.shape).to(p.device, p.dtype))
        for name in model.trainable:
            m, v = model.adam_m[name], model.adam_v[name]
            if optimizer:
                m.copy_(moments[name][0].reshape(m.shape).to(m.device, m.dtype))
                v.copy_(moments[name][1].reshape(v.shape).to(v.device, v.dtype))
            else:
                m.zero_()
                v.zero_()
        model.step = int(header.get("step", 0)) if optimizer else 0
        model.zero_grads()


def model_from(header, tensors, device="cpu", dtype=torch.float64):
    """A new model built from a checkpoint's own config, with its weights (and Adam state if
    it is a training checkpoint)."""
    cfg = header.get("config")
    if not isinstance(cfg, dict) or any(cfg.get(k) is None for k in CONFIG_KEYS):
        raise user_error("checkpoint header has an incomplete config")
    config = {k: cfg[k] for k in CONFIG_KEYS}
    config["alpha"] = cfg.get("alpha", 32)
    model = TinyLM(config, device=device, dtype=dtype, init=False)
    apply(model, header, tensors, header.get("kind") == "training")
    return model
