"""``train_job`` and ``validate_output`` (Model Training Manager jobs).

- ``base_model`` "tiny-lm": the torch TinyLM, the same recipe and output files as the TS
  worker (plugins/tinker/worker/train-job.ts): JSONL rows (``text``, else string values joined
  with "\\n") → ``<bos> bytes <eos>`` truncated to ``max_seq_length + 1``; qlora/unsloth = LoRA
  (``lora_r``, ``lora_alpha``), standard = full fine-tune; shuffled per epoch with
  mulberry32(seed + epoch); each step is a cross_entropy forward_backward with weights
  1/tokens-in-batch plus AdamW (β=(0.9,0.999), eps=1e-8). Output: ``adapter.bwpt`` (sampler
  checkpoint), ``training_config.json``, ``tokenizer.json``, ``tokenizer_config.json``. ``rag``
  embeds every row (mean of h, L2-normalised) into ``index.json``.
- Any other ``base_model`` (a Hugging Face id or local path): :mod:`.hf_train`, which needs
  transformers/peft/trl/... and fails with a user error naming the missing ones.
"""

import json
import math
import os
import time

import torch

from . import checkpoint
from . import params as P
from .adamw import adamw_step
from .errors import cancelled_error, user_error
from .losses import prepare
from .rng import fround, mulberry32
from .sampling import sample
from .tinylm import BASE_MODELS, TinyLM, tiny_config
from .tokenizer import BOS, EOS, decode, encode, write_tokenizer_files

TRAIN_OUTPUT_FORMAT = "bwp-train-output/1"
RAG_INDEX_FORMAT = "bwp-rag-index/1"
TRAINING_TYPES = ("qlora", "standard", "unsloth", "rag")


def parse_spec(spec):
    """The MTM hyper-parameters with their defaults (plugins/tinker/protocol trainJobSpecSchema)."""
    out = dict(spec)
    tt = P.string(spec, "training_type", path="spec")
    if tt not in TRAINING_TYPES:
        raise user_error(f"invalid spec: training_type: expected one of {', '.join(TRAINING_TYPES)}")
    out["training_type"] = tt
    out["base_model"] = P.string(spec, "base_model", path="spec")
    out["epochs"] = P.integer(spec, "epochs", 3, path="spec", minimum=1, maximum=100)
    out["batch_size"] = P.integer(spec, "batch_size", 4, path="spec", minimum=1, maximum=64)
    out["learning_rate"] = P.number(spec, "learning_rate", 2e-4, path="spec", positive=True)
    out["lora_r"] = P.integer(spec, "lora_r", 16, path="spec", minimum=1, maximum=256)
    out["lora_alpha"] = P.number(spec, "lora_alpha", 32, path="spec", minimum=1, maximum=512)
    if float(out["lora_alpha"]).is_integer():
        out["lora_alpha"] = int(out["lora_alpha"])
    out["lora_dropout"] = P.number(spec, "lora_dropout", 0.05, path="spec", minimum=0, maximum=1)
    out["max_seq_length"] = P.integer(spec, "max_seq_length", 512, path="spec", minimum=2, maximum=1_000_000)
    out["seed"] = P.integer(spec, "seed", 0, path="spec")
    return out


def read_rows(path):
    """The JSON objects of a JSONL dataset (a JSON array file is accepted too)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            raw = f.read()
    except OSError as exc:
        raise user_error(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    stripped = raw.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except ValueError:
            raise user_error(f"dataset {path} is not valid JSON") from None
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise user_error(f"dataset row {i + 1} is not a JSON object")
        return rows
    rows = []
    for i, line in enumerate(raw.split("\n")):
        if line.strip() == "":
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise user_error(f"dataset line {i + 1} is not JSON") from None
        if not isinstance(row, dict):
            raise user_error(f"dataset line {i + 1} is not a JSON object")
        rows.append(row)
    return rows


def tiny_texts(path):
    texts = []
    for row in read_rows(path):
        text = row["text"] if isinstance(row.get("text"), str) else "\n".join(v for v in row.values() if isinstance(v, str))
        if text != "":
            texts.append(text)
    if not texts:
        raise user_error(f"dataset {path} has no rows with text")
    return texts


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(value, indent=2) + "\n")


def _gpu_mem(device):
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return None


def run_train_job(job_id, spec, dataset_path, output_dir, ctx, device="cpu", dtype=torch.float64):
    spec = parse_spec(spec)
    if spec["base_model"] not in BASE_MODELS:
        from .hf_train import run_hf_job

        return run_hf_job(job_id, spec, dataset_path, output_dir, ctx)
    texts = tiny_texts(dataset_path)
    os.makedirs(output_dir, exist_ok=True)
    started = time.monotonic()
    meta = {
        "format": TRAIN_OUTPUT_FORMAT,
        "backend": "torch",
        "job_id": job_id,
        "base_model": spec["base_model"],
        "training_type": spec["training_type"],
        "spec": spec,
    }
    if spec["training_type"] == "rag":
        return _rag_index(job_id, ctx, texts, meta, spec["batch_size"], output_dir, device, dtype)
    rank = 0 if spec["training_type"] == "standard" else spec["lora_r"]
    model = TinyLM(tiny_config(rank, spec["lora_alpha"]), seed=spec["seed"], device=device, dtype=dtype)
    rows = []
    for text in texts:
        seq = ([BOS] + encode(text) + [EOS])[: spec["max_seq_length"] + 1]
        rows.append((seq[:-1], seq[1:]))
    bs = spec["batch_size"]
    per_epoch = math.ceil(len(rows) / bs)
    total_steps = per_epoch * spec["epochs"]
    adam = {"learning_rate": spec["learning_rate"], "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "grad_clip_norm": 0.0}
    step, final_loss = 0, None
    ctx.log("info", f"train_job {job_id}: {spec['training_type']} on tiny-lm (rank {rank}), {len(rows)} rows, {total_steps} steps on {device}")
    for epoch in range(spec["epochs"]):
        order = list(range(len(rows)))
        rng = mulberry32(spec["seed"] + epoch)
        for i in range(len(order) - 1, 0, -1):
            j = math.floor(rng() * (i + 1))
            order[i], order[j] = order[j], order[i]
        for b in range(per_epoch):
            if ctx.cancelled:
                raise cancelled_error(f"train_job {job_id} cancelled at step {step}/{total_steps}")
            t0 = time.monotonic()
            batch = [rows[i] for i in order[b * bs : (b + 1) * bs]]
            tokens = sum(len(x) for x, _ in batch)
            with model.lock:
                eff = model.effective()
                total = None
                for x, y in batch:
                    n = len(x)
                    fn = prepare("cross_entropy", {"weights": [1 / tokens] * n}, n, "row", {}, model.dtype, model.device)
                    lp = model.target_logprobs(eff, model.windows(x), torch.tensor(y, dtype=torch.long, device=model.device))
                    s = fn(lp).sum()
                    total = s if total is None else total + s
                total.backward()
                adamw_step(model, adam)
            step += 1
            final_loss = float(total.detach())
            seconds = max(time.monotonic() - t0, 1e-3)
            ctx.progress(
                step=step,
                total_steps=total_steps,
                epoch=epoch + 1,
                loss=final_loss,
                lr=adam["learning_rate"],
                tokens_per_s=tokens / seconds,
                gpu_mem=_gpu_mem(model.device),
            )
    files = ["adapter.bwpt", "training_config.json"]
    checkpoint.save(model, os.path.join(output_dir, "adapter.bwpt"), "sampler", spec["base_model"])
    files += write_tokenizer_files(output_dir)
    _write_json(
        os.path.join(output_dir, "training_config.json"),
        dict(
            meta,
            model_config=model.config,
            parameters=model.parameter_count,
            trainable_parameters=model.trainable_count,
            steps=step,
            final_loss=final_loss,
            duration_s=time.monotonic() - started,
            files=files,
        ),
    )
    return {"model_path": output_dir, "final_loss": final_loss, "steps": step, "files": files}


def _rag_index(job_id, ctx, texts, meta, batch_size, output_dir, device, dtype):
    model = TinyLM(tiny_config(0), device=device, dtype=dtype)
    eff = model.snapshot()
    H = model.config["H"]
    rows = []
    total_steps = math.ceil(len(texts) / batch_size)
    with torch.no_grad():
        for step in range(total_steps):
            if ctx.cancelled:
                raise cancelled_error(f"train_job {job_id} cancelled at step {step}/{total_steps}")
            for i in range(step * batch_size, min(len(texts), (step + 1) * batch_size)):
                tokens = encode(texts[i])[:4096]
                if tokens:
                    v = model.hidden_of_windows(eff, model.windows(tokens)).mean(dim=0)
                    norm = float(torch.linalg.norm(v))
                    emb = [fround(x / norm if norm > 0 else 0.0) for x in v.tolist()]
                else:
                    emb = [0.0] * H
                rows.append({"id": i, "text": texts[i], "embedding": emb})
            ctx.progress(step=step + 1, total_steps=total_steps, epoch=1, loss=None, lr=0, tokens_per_s=0, gpu_mem=None)
    files = ["index.json", "training_config.json"]
    _write_json(
        os.path.join(output_dir, "index.json"),
        {"format": RAG_INDEX_FORMAT, "base_model": meta["base_model"], "dim": H, "metric": "cosine", "rows": rows},
    )
    _write_json(
        os.path.join(output_dir, "training_config.json"),
        dict(meta, rows=len(rows), dim=H, steps=total_steps, final_loss=None, files=files),
    )
    return {"model_path": output_dir, "final_loss": None, "steps": total_steps, "files": files}


def validate_output(target):
    """Loads what train_job wrote at ``target`` (its directory, or a file in it) and reports."""

    def fail(errors, files=()):
        return {"ok": False, "model_name": None, "parameters": None, "files": list(files), "errors": errors}

    if not os.path.exists(target):
        return fail([f"{target} does not exist"])
    directory = target if os.path.isdir(target) else os.path.dirname(target)
    try:
        with open(os.path.join(directory, "training_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        if not isinstance(config, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        return fail([f"training_config.json is missing or not JSON ({exc})"])
    files = config.get("files") if isinstance(config.get("files"), list) else []
    missing = [f for f in files if not os.path.exists(os.path.join(directory, f))]
    if missing:
        return fail([f"{f} is missing" for f in missing], files)
    model_name = config.get("base_model") if isinstance(config.get("base_model"), str) else None
    if config.get("backend") == "torch-hf":
        from .hf_train import validate_hf_output

        return validate_hf_output(directory, config, files, model_name)
    if config.get("training_type") == "rag":
        try:
            with open(os.path.join(directory, "index.json"), encoding="utf-8") as f:
                index = json.load(f)
            if index.get("format") != RAG_INDEX_FORMAT or not isinstance(index.get("rows"), list):
                return fail(["index.json is not a bwp-rag-index/1 file"], files)
            first = index["rows"][0]["text"][:200] if index["rows"] else ""
            return {"ok": True, "model_name": model_name, "parameters": len(index["rows"]) * index["dim"], "files": files, "sample_text": first}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return fail([f"index.json is unreadable ({exc})"], files)
    try:
        header, tensors = checkpoint.read(os.path.join(directory, "adapter.bwpt"))
        model = checkpoint.model_from(header, tensors)
        out = sample(model, [BOS], 1, {"max_tokens": 64, "temperature": 0, "top_p": 1, "top_k": -1, "stop_token_ids": [EOS]}, False)
        return {"ok": True, "model_name": model_name, "parameters": model.parameter_count, "files": files, "sample_text": decode(out["sequences"][0]["tokens"])}
    except Exception as exc:  # noqa: BLE001 - any failure to load is the report, not a crash
        return fail([f"adapter.bwpt does not load: {getattr(exc, 'message', exc)}"], files)
