"""Optional libraries: which are importable (without importing them), and the CUDA devices."""

import importlib.util
import sys

# import name → distribution name shown to users (pip/apt install hint).
OPTIONAL = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "trl": "trl",
    "datasets": "datasets",
    "accelerate": "accelerate",
    "bitsandbytes": "bitsandbytes",
    "unsloth": "unsloth",
    "sentence_transformers": "sentence-transformers",
    "faiss": "faiss-cpu (or faiss-gpu)",
}

# What each train_job training_type needs for a Hugging Face base model.
REQUIRED = {
    "qlora": ["torch", "transformers", "peft", "trl", "datasets", "accelerate", "bitsandbytes"],
    "standard": ["torch", "transformers", "trl", "datasets", "accelerate"],
    "unsloth": ["torch", "unsloth", "transformers", "peft", "trl", "datasets"],
    "rag": ["sentence_transformers", "faiss"],
}


def present(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def version(name):
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version
    except ImportError:  # pragma: no cover
        return None
    dist = {"sentence_transformers": "sentence-transformers", "faiss": "faiss-cpu"}.get(name, name)
    for candidate in (dist, "faiss-gpu") if name == "faiss" else (dist,):
        try:
            return dist_version(candidate)
        except PackageNotFoundError:
            continue
    mod = sys.modules.get(name)
    return getattr(mod, "__version__", None) if mod else None


def missing_for(training_type):
    return [n for n in REQUIRED.get(training_type, []) if not present(n)]


def devices():
    """``hello.devices``: one entry per visible CUDA device (empty without CUDA)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return []
        out = []
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append({"index": i, "name": props.name, "memory_total": int(props.total_memory)})
        return out
    except Exception:  # noqa: BLE001 - a broken CUDA install means "no devices", not a crash
        return []


def check_report():
    """What ``--check`` prints: every optional library, present or not, and the devices."""
    libs = {}
    for name, dist in OPTIONAL.items():
        ok = present(name)
        libs[name] = {"present": ok, "version": version(name) if ok else None, "install": dist}
    report = {"python": sys.version.split()[0], "executable": sys.executable, "libraries": libs}
    report["cuda"] = False
    report["devices"] = []
    if libs["torch"]["present"]:
        import torch

        report["torch"] = torch.__version__
        report["cuda"] = bool(torch.cuda.is_available())
        report["devices"] = devices()
    report["training_types"] = {t: {"ready": not missing_for(t), "missing": missing_for(t)} for t in REQUIRED}
    return report
