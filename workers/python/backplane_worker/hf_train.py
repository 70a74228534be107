"""Hugging Face training for ``train_job`` (Model Training Manager's real paths, §3.2):

- ``qlora``: transformers + peft + bitsandbytes 4-bit + TRL ``SFTTrainer``;
- ``standard``: full fine-tune with transformers + TRL ``SFTTrainer``;
- ``unsloth``: ``unsloth.FastLanguageModel`` + TRL ``SFTTrainer``;
- ``rag``: sentence-transformers embeddings + a FAISS inner-product index.

Nothing is simulated: when a library is missing the job fails with a user error that lists
exactly which (``data.missing``). Progress is reported per optimizer step through a
``TrainerCallback``; ``cancel`` stops training at the next step boundary.
"""

import dataclasses
import inspect
import json
import os
import time

from .errors import cancelled_error, user_error
from .libs import missing_for, version
from .train_job import read_rows

# Ollama-style names MTM accepts (a subset of its map). Unknown "name:tag" names are rejected,
# never silently mapped to some default model.
OLLAMA_NAMES = {
    "llama3.2:1b": "meta-llama/Llama-3.2-1B-Instruct",
    "llama3.2:3b": "meta-llama/Llama-3.2-3B-Instruct",
    "mistral:7b": "mistralai/Mistral-7B-Instruct-v0.3",
    "phi3:mini": "microsoft/Phi-3-mini-4k-instruct",
    "gemma2:9b": "google/gemma-2-9b-it",
    "qwen2.5:0.5b": "Qwen/Qwen2.5-0.5B-Instruct",
}


def require(training_type, base_model):
    missing = missing_for(training_type)
    if missing:
        raise user_error(
            f"training_type {training_type} on {json.dumps(base_model)} needs Python libraries that are not installed: "
            f"{', '.join(missing)} (python3 -m backplane_worker --check lists what is present)",
            missing=missing,
        )


def resolve_model(name):
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.abspath(os.path.expanduser(name))
    if name in OLLAMA_NAMES:
        return OLLAMA_NAMES[name]
    if ":" in name:
        raise user_error(f"unknown model name {json.dumps(name)}; use a Hugging Face id (org/name) or a local directory")
    return name


def hf_texts(path):
    """MTM's text building: ``text``; else input + "\\n" + output; else Alpaca; else values joined."""
    texts = []
    for row in read_rows(path):
        if isinstance(row.get("text"), str):
            text = row["text"]
        elif "input" in row and "output" in row:
            text = f"{row['input']}\n{row['output']}"
        elif "instruction" in row and ("output" in row or "response" in row):
            text = f"### Instruction:\n{row['instruction']}\n\n### Response:\n{row.get('output', row.get('response'))}"
        else:
            text = " ".join(str(v) for v in row.values() if v is not None)
        if text.strip():
            texts.append(text)
    if not texts:
        raise user_error(f"dataset {path} has no rows with text")
    return texts


def _kwargs_for(cls, wanted):
    """Keep only the keyword arguments ``cls`` accepts (TRL renames fields between releases)."""
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)}
    else:
        names = set(inspect.signature(cls.__init__).parameters)
    return {k: v for k, v in wanted.items() if k in names}


def _list_files(directory):
    out = []
    for root, _dirs, names in os.walk(directory):
        for n in names:
            out.append(os.path.relpath(os.path.join(root, n), directory))
    return sorted(out)


def run_hf_job(job_id, spec, dataset_path, output_dir, ctx):
    tt = spec["training_type"]
    require(tt, spec["base_model"])
    model_ref = resolve_model(spec["base_model"])
    texts = hf_texts(dataset_path)
    os.makedirs(output_dir, exist_ok=True)
    if tt == "rag":
        return _rag(job_id, spec, model_ref, texts, output_dir, ctx)
    if tt == "unsloth":
        import unsloth  # noqa: F401 - must be imported before transformers to patch it

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTTrainer

    try:
        from trl import SFTConfig as ArgsClass
    except ImportError:  # old TRL
        from transformers import TrainingArguments as ArgsClass

    started = time.monotonic()
    ctx.log("info", f"train_job {job_id}: loading {model_ref} for {tt}")
    peft_config = None
    if tt == "unsloth":
        from unsloth import FastLanguageModel

        model, tokenizer = FastLanguageModel.from_pretrained(model_name=model_ref, max_seq_length=spec["max_seq_length"], load_in_4bit=True)
        model = FastLanguageModel.get_peft_model(
            model,
            r=spec["lora_r"],
            lora_alpha=spec["lora_alpha"],
            lora_dropout=spec["lora_dropout"],
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            use_gradient_checkpointing="unsloth",
            random_state=spec["seed"],
        )
    else:
        tokenizer = AutoTokenizer.from_pretrained(model_ref)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if tt == "qlora":
            from peft import LoraConfig, prepare_model_for_kbit_training
            from transformers import BitsAndBytesConfig

            compute = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16
            bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute, bnb_4bit_use_double_quant=True)
            model = AutoModelForCausalLM.from_pretrained(model_ref, quantization_config=bnb, device_map="auto")
            model = prepare_model_for_kbit_training(model)
            peft_config = LoraConfig(r=spec["lora_r"], lora_alpha=spec["lora_alpha"], lora_dropout=spec["lora_dropout"], task_type="CAUSAL_LM")
        else:
            model = AutoModelForCausalLM.from_pretrained(model_ref)

    state = {"loss": None, "t0": time.monotonic(), "last_step": 0}

    class Progress(TrainerCallback):
        def on_log(self, args, st, control, logs=None, **kw):
            if logs and "loss" in logs:
                state["loss"] = float(logs["loss"])

        def on_step_end(self, args, st, control, **kw):
            now = time.monotonic()
            steps = st.global_step - state["last_step"]
            tokens = steps * args.per_device_train_batch_size * spec["max_seq_length"]
            tps = tokens / max(now - state["t0"], 1e-3)
            state["t0"], state["last_step"] = now, st.global_step
            lr = None
            if st.log_history:
                lr = st.log_history[-1].get("learning_rate")
            ctx.progress(
                step=st.global_step,
                total_steps=st.max_steps,
                epoch=float(st.epoch or 0),
                loss=state["loss"],
                lr=float(lr if lr is not None else spec["learning_rate"]),
                tokens_per_s=tps,
                gpu_mem=int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None,
            )
            if ctx.cancelled:
                control.should_training_stop = True
            return control

    args = ArgsClass(
        **_kwargs_for(
            ArgsClass,
            {
                "output_dir": os.path.join(output_dir, "checkpoints"),
                "num_train_epochs": spec["epochs"],
                "per_device_train_batch_size": spec["batch_size"],
                "learning_rate": spec["learning_rate"],
                "logging_steps": 1,
                "save_strategy": "no",
                "report_to": [],
                "seed": spec["seed"],
                "dataset_text_field": "text",
                "max_seq_length": spec["max_seq_length"],
                "max_length": spec["max_seq_length"],
                "disable_tqdm": True,
            },
        )
    )
    trainer_kwargs = {"model": model, "args": args, "train_dataset": Dataset.from_dict({"text": texts}), "callbacks": [Progress()]}
    trainer_params = inspect.signature(SFTTrainer.__init__).parameters
    trainer_kwargs["processing_class" if "processing_class" in trainer_params else "tokenizer"] = tokenizer
    if peft_config is not None:
        trainer_kwargs["peft_config"] = peft_config
    for legacy in ("dataset_text_field", "max_seq_length"):
        if legacy in trainer_params and not hasattr(args, legacy):
            trainer_kwargs[legacy] = "text" if legacy == "dataset_text_field" else spec["max_seq_length"]
    trainer = SFTTrainer(**trainer_kwargs)
    result = trainer.train()
    if ctx.cancelled:
        raise cancelled_error(f"train_job {job_id} cancelled at step {trainer.state.global_step}/{trainer.state.max_steps}")
    final_dir = os.path.join(output_dir, "model")
    trainer.save_model(final_dir)
    tokenizer.save_pretrained(final_dir)
    final_loss = state["loss"] if state["loss"] is not None else float(getattr(result, "training_loss", 0.0))
    files = [os.path.join("model", f) for f in _list_files(final_dir)] + ["training_config.json"]
    with open(os.path.join(output_dir, "training_config.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "format": "bwp-train-output/1",
                "backend": "torch-hf",
                "job_id": job_id,
                "base_model": spec["base_model"],
                "resolved_model": model_ref,
                "training_type": tt,
                "spec": spec,
                "steps": trainer.state.global_step,
                "final_loss": final_loss,
                "duration_s": time.monotonic() - started,
                "libraries": {n: version(n) for n in ("torch", "transformers", "peft", "trl", "bitsandbytes", "unsloth")},
                "files": files,
            },
            f,
            indent=2,
        )
    return {"model_path": final_dir, "final_loss": final_loss, "steps": trainer.state.global_step, "files": files}


def _rag(job_id, spec, model_ref, texts, output_dir, ctx):
    import faiss
    from sentence_transformers import SentenceTransformer

    started = time.monotonic()
    encoder = SentenceTransformer(model_ref)
    bs = spec["batch_size"]
    total = (len(texts) + bs - 1) // bs
    chunks = []
    for step in range(total):
        if ctx.cancelled:
            raise cancelled_error(f"train_job {job_id} cancelled at step {step}/{total}")
        chunks.append(encoder.encode(texts[step * bs : (step + 1) * bs], normalize_embeddings=True, convert_to_numpy=True))
        ctx.progress(step=step + 1, total_steps=total, epoch=1, loss=None, lr=0, tokens_per_s=0, gpu_mem=None)
    import numpy as np

    vectors = np.concatenate(chunks).astype("float32")
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.write_index(index, os.path.join(output_dir, "index.faiss"))
    with open(os.path.join(output_dir, "rows.json"), "w", encoding="utf-8") as f:
        json.dump([{"id": i, "text": t} for i, t in enumerate(texts)], f)
    files = ["index.faiss", "rows.json", "training_config.json"]
    with open(os.path.join(output_dir, "training_config.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "format": "bwp-train-output/1",
                "backend": "torch-hf",
                "job_id": job_id,
                "base_model": spec["base_model"],
                "training_type": "rag",
                "spec": spec,
                "rows": len(texts),
                "dim": int(vectors.shape[1]),
                "steps": total,
                "final_loss": None,
                "duration_s": time.monotonic() - started,
                "files": files,
            },
            f,
            indent=2,
        )
    return {"model_path": output_dir, "final_loss": None, "steps": total, "files": files}


def validate_hf_output(directory, config, files, model_name):
    """Checks an HF train_job output: the files exist and the model/adapter config parses."""
    if config.get("training_type") == "rag":
        return {"ok": True, "model_name": model_name, "parameters": (config.get("rows") or 0) * (config.get("dim") or 0), "files": files}
    model_dir = os.path.join(directory, "model")
    for name in ("adapter_config.json", "config.json"):
        p = os.path.join(model_dir, name)
        if os.path.exists(p):
            try:
                with open(p, encoding="utf-8") as f:
                    json.load(f)
            except ValueError as exc:
                return {"ok": False, "model_name": None, "parameters": None, "files": files, "errors": [f"{name} is not JSON ({exc})"]}
            return {"ok": True, "model_name": model_name, "parameters": None, "files": files}
    return {"ok": False, "model_name": None, "parameters": None, "files": files, "errors": ["model/ has neither adapter_config.json nor config.json"]}
