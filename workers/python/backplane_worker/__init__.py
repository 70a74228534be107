"""backplane bwp/1 worker in Python (PyTorch backend).

Run with ``PYTHONPATH=workers/python python3 -m backplane_worker`` and ``BACKPLANE_WORKER_SOCKET``
set to the daemon's Unix socket. Standard library + torch only; Hugging Face libraries
(transformers, peft, trl, bitsandbytes, ...) are imported lazily by ``train_job`` when present.
See docs/worker-python.md and docs/worker-protocol.md (the protocol).
"""

__version__ = "0.1.0"
PROTOCOL_VERSION = "bwp/1"
