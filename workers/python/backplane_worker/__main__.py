"""``python3 -m backplane_worker``: serve bwp/1 on $BACKPLANE_WORKER_SOCKET, or ``--check``."""

import argparse
import json
import os
import sys

from .reconnect import parse_reconnect_ms


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m backplane_worker", description="backplane bwp/1 worker (PyTorch)")
    parser.add_argument("--check", action="store_true", help="print which optional libraries are present (JSON) and exit")
    args = parser.parse_args(argv)
    if args.check:
        from .libs import check_report

        json.dump(check_report(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    path = os.environ.get("BACKPLANE_WORKER_SOCKET")
    if not path:
        sys.stderr.write("backplane_worker: BACKPLANE_WORKER_SOCKET is not set (the daemon starts this worker)\n")
        return 2
    reconnect_env = os.environ.get("BACKPLANE_WORKER_RECONNECT_MS")
    try:
        reconnect_ms = parse_reconnect_ms(reconnect_env)
    except ValueError:
        sys.stderr.write(f"backplane_worker: BACKPLANE_WORKER_RECONNECT_MS must be a number of milliseconds (got {reconnect_env})\n")
        return 2
    try:
        import torch
    except ImportError:
        sys.stderr.write(f"backplane_worker: torch is not importable by {sys.executable}\n")
        return 3
    # The tiny model is latency-bound; a thread pool per op only fights the daemon for cores.
    torch.set_num_threads(int(os.environ.get("BACKPLANE_WORKER_THREADS", "1")))
    from .methods import Methods
    from .rpc import Connection, Server, connect, log_stderr

    try:
        sock = connect(path)
    except OSError as exc:
        sys.stderr.write(f"backplane_worker: cannot connect to {path}: {exc}\n")
        return 4
    methods = Methods()
    log_stderr(f"connected to {path} as {methods.worker_id} (torch {torch.__version__}, device {methods.device})")
    heartbeat_s = float(os.environ.get("BACKPLANE_WORKER_HEARTBEAT_MS", "5000")) / 1000.0
    # With a reconnect window, work in flight survives a daemon restart (see reconnect.py).
    server = Server(Connection(sock), methods, heartbeat_s=heartbeat_s, reconnect_ms=reconnect_ms, socket_path=path)
    reason = server.serve()
    log_stderr(f"exiting: {reason}")
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads may sit inside a long library call (HF training); they are daemons, so leave now.
    os._exit(0 if reason == "shutdown" else 1)


if __name__ == "__main__":
    sys.exit(main())
