"""TinyLM's byte tokenizer: ids 0-255 are UTF-8 bytes, <bos>=256, <eos>=257, <pad>=258."""

import json
import os

VOCAB_SIZE = 259
BOS = 256
EOS = 257
PAD = 258


def encode(text):
    return list(text.encode("utf-8"))


def decode_bytes(tokens):
    return bytes(t for t in tokens if 0 <= t < 256)


def decode(tokens):
    return decode_bytes(tokens).decode("utf-8", errors="replace")


def tokenizer_info():
    return {"vocab_size": VOCAB_SIZE, "bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": PAD, "kind": "byte"}


def _byte_level_chars():
    keep = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def _write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_tokenizer_files(directory):
    """A minimal HF ``tokenizer.json`` + ``tokenizer_config.json`` (ByteLevel BPE, no merges),
    the same tokenizer the TS worker writes, so ``AutoTokenizer.from_pretrained(dir)`` works."""
    os.makedirs(directory, exist_ok=True)
    vocab = {c: i for i, c in enumerate(_byte_level_chars())}
    special = [("<bos>", BOS), ("<eos>", EOS), ("<pad>", PAD)]
    for content, i in special:
        vocab[content] = i
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for c, i in special
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": None,
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": [],
        },
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "model_max_length": 1000000,
        "clean_up_tokenization_spaces": False,
    }
    _write_atomic(os.path.join(directory, "tokenizer.json"), json.dumps(tokenizer, ensure_ascii=False, separators=(",", ":")) + "\n")
    _write_atomic(os.path.join(directory, "tokenizer_config.json"), json.dumps(config, indent=2) + "\n")
    return ["tokenizer.json", "tokenizer_config.json"]
