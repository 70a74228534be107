"""bwp/1 transport: NDJSON JSON-RPC 2.0 over the daemon's Unix socket.

One reader thread (the caller's) parses lines and dispatches. ``ping``, ``cancel`` and
``shutdown`` are answered inline so they never wait behind work. Requests naming a ``model_id``
run on that model's lane (one thread per model, arrival order, so a model's training ops never
reorder); ``sample``, ``train_job`` and ``validate_output`` get a thread each, so sampling never
queues behind training. A heartbeat thread sends ``heartbeat`` every 5 s.

With a reconnect window (``BACKPLANE_WORKER_RECONNECT_MS``) a lost connection does not stop the
work owed an answer: the reader reconnects to the same socket and the ``Outbox``
(reconnect.py) delivers what was kept meanwhile.
"""

import json
import math
import os
import queue
import socket
import sys
import threading
import time

from .errors import (
    CANCELLED,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    cancelled_error,
    to_wire_error,
)
from .reconnect import Outbox

MAX_LINE_BYTES = 64 * 1024 * 1024 + 1024 * 1024


def log_stderr(msg):
    sys.stderr.write(f"[backplane_worker {os.getpid()}] {msg}\n")
    sys.stderr.flush()


def _sanitize(value):
    """Non-finite floats are not JSON: send them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


def encode_line(message):
    try:
        text = json.dumps(message, allow_nan=False, separators=(",", ":"))
    except ValueError:
        text = json.dumps(_sanitize(message), allow_nan=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def result_message(rid, result):
    return {"jsonrpc": "2.0", "id": rid, "result": {} if result is None else result}


def error_message(rid, error):
    return {"jsonrpc": "2.0", "id": rid, "error": error}


class Connection:
    """The socket plus a write lock (notifications come from several threads)."""

    def __init__(self, sock):
        self.sock = sock
        self._wlock = threading.Lock()
        self.closed = threading.Event()

    def send(self, message):
        """False when the connection is closed (the message was not sent)."""
        data = encode_line(message)
        if len(data) > MAX_LINE_BYTES and "id" in message and "result" in message:
            data = encode_line(
                {
                    "jsonrpc": "2.0",
                    "id": message["id"],
                    "error": RpcError(-32000, f"result of {len(data)} bytes exceeds the line limit").to_wire(),
                }
            )
        with self._wlock:
            if self.closed.is_set():
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                self.closed.set()
                return False

    def notify(self, method, params=None):
        self.send({"jsonrpc": "2.0", "method": method, "params": {} if params is None else params})

    def respond(self, rid, result):
        self.send(result_message(rid, result))

    def respond_error(self, rid, error):
        self.send(error_message(rid, error))

    def close(self):
        with self._wlock:
            self.closed.set()
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                self.sock.close()
            except OSError:
                pass


class RequestContext:
    """What a handler gets besides params: cancellation, progress and log notifications."""

    def __init__(self, server, rid, method):
        self.server = server
        self.id = rid
        self.method = method
        self.cancel_event = threading.Event()

    @property
    def cancelled(self):
        return self.cancel_event.is_set()

    def check(self):
        """Raise the -32800 error when this request was cancelled (call it in long loops)."""
        if self.cancel_event.is_set():
            raise cancelled_error()

    def progress(self, **fields):
        fields["id"] = self.id
        self.server.outbox.notify("progress", fields)

    def log(self, level, msg):
        self.server.log(level, msg)


class _Lane:
    """A serial executor: one thread, FIFO."""

    def __init__(self, name, run):
        self.queue = queue.Queue()
        self._run = run
        self.thread = threading.Thread(target=self._loop, name=f"lane-{name}", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            item = self.queue.get()
            self._run(*item)


class Server:
    """Serves bwp/1 on a connected socket until ``shutdown`` or the daemon goes away.

    ``methods`` provides ``handlers`` (dict name → fn(params, ctx)), ``lane(method, params)``
    (a lane key, ``"thread"`` for a thread of its own, or None for inline) and ``hello()``.
    With ``reconnect_ms`` > 0, a connection lost while requests are owed answers is replaced by
    a new one to ``socket_path`` (retried for that long) instead of ending the server.
    """

    def __init__(self, conn, methods, heartbeat_s=5.0, reconnect_ms=0, socket_path=None):
        self.conn = conn
        self.methods = methods
        self.heartbeat_s = heartbeat_s
        self.reconnect_ms = reconnect_ms if socket_path else 0
        self.socket_path = socket_path
        self.outbox = Outbox(methods.hello, self.reconnect_ms)
        self._in_flight = {}
        self._lock = threading.Lock()
        self._lanes = {}
        self._done = threading.Event()
        self.exit_reason = "disconnected"

    def log(self, level, msg):
        log_stderr(f"{level}: {msg}")
        self.outbox.notify("log", {"level": level, "msg": msg})

    def serve(self):
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        try:
            while self.conn is not None:
                self.outbox.attach(self.conn)
                lost = self._read(self.conn)
                self.conn.close()
                self.conn = self._reconnect() if lost else None
        finally:
            self._done.set()
            self.outbox.end()
            self._cancel_all()
            if self.conn is not None:
                self.conn.close()
        return self.exit_reason

    def _read(self, conn):
        """Serve one connection's lines. True when it was lost, False when this end closed it."""
        reader = conn.sock.makefile("rb")
        try:
            while not self._done.is_set():
                line = reader.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return True
                if len(line) > MAX_LINE_BYTES:
                    self._fatal(f"line exceeds {MAX_LINE_BYTES} bytes")
                    return False
                text = line.decode("utf-8", errors="replace").strip()
                if text and not self._receive(text):
                    return False
        except OSError:
            return True
        return False

    def _reconnect(self):
        """A new connection to the same socket when work is owed an answer, else None (the end)."""
        if not self.outbox.detach():
            return None
        ms = self.reconnect_ms
        log_stderr(f"connection lost with {self.outbox.owed_count} request(s) owed an answer; retrying {self.socket_path} for {ms:g} ms")
        try:
            conn = Connection(connect(self.socket_path, ms / 1000.0))
        except OSError as exc:
            log_stderr(f"no daemon on {self.socket_path} within {ms:g} ms ({exc}): cancelling the work")
            return None
        log_stderr(f"reconnected to {self.socket_path}")
        return conn

    def _heartbeat(self):
        while not self._done.wait(self.heartbeat_s):
            self.outbox.live("heartbeat", {})

    def _fatal(self, why):
        # bwp/1: an unreadable line is fatal; answer -32700 (id null) and close.
        log_stderr(f"disconnecting: peer sent an unreadable line: {why}")
        self.conn.respond_error(None, RpcError(PARSE_ERROR, f"{why}; closing", category="server").to_wire())

    def _receive(self, text):
        """Handle one line; False when the connection must close."""
        try:
            message = json.loads(text)
        except ValueError as exc:
            self._fatal(f"line is not JSON ({exc}): {json.dumps(text[:80])}")
            return False
        if not isinstance(message, dict):
            self._fatal(f"line is not a JSON object: {json.dumps(text[:80])}")
            return False
        method = message.get("method")
        rid = message.get("id")
        if method is None:
            if "result" not in message and "error" not in message:
                self.conn.respond_error(rid, RpcError(INVALID_REQUEST, "not a JSON-RPC 2.0 message", category="user").to_wire())
            return True  # a response: the daemon serves no methods we call
        if not isinstance(method, str) or (rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int, float)))):
            self.conn.respond_error(rid if isinstance(rid, (str, int)) else None, RpcError(INVALID_REQUEST, "method must be a string and id a string or number", category="user").to_wire())
            return True
        if "id" not in message or rid is None:
            if method == "cancel" and isinstance(message.get("params"), dict):
                self._cancel(message["params"].get("id"))
            return True  # other notifications to the worker are ignored
        params = message.get("params")
        if method == "ping":
            self.conn.respond(rid, {})
        elif method == "cancel":
            target = params.get("id") if isinstance(params, dict) else None
            if not isinstance(target, (str, int)) or isinstance(target, bool):
                self.conn.respond_error(rid, RpcError(-32602, "invalid params: id: expected a string or number", category="user").to_wire())
            else:
                self._cancel(target)
                self.conn.respond(rid, {})
        elif method == "shutdown":
            self._shutdown(rid, params)
            return False
        elif method not in self.methods.handlers:
            self.conn.respond_error(rid, RpcError(METHOD_NOT_FOUND, f"unknown method: {method}", category="user").to_wire())
        else:
            ctx = RequestContext(self, rid, method)
            with self._lock:
                self._in_flight[rid] = ctx
            self.outbox.owe(rid, method)
            lane = self.methods.lane(method, params)
            if lane is None:
                self._run(ctx, params)
            elif lane == "thread":
                threading.Thread(target=self._run, args=(ctx, params), name=f"req-{rid}", daemon=True).start()
            else:
                with self._lock:
                    if lane not in self._lanes:
                        self._lanes[lane] = _Lane(lane, self._run)
                    self._lanes[lane].queue.put((ctx, params))
        return True

    def _run(self, ctx, params):
        try:
            ctx.check()
            result = self.methods.handlers[ctx.method](params if params is not None else {}, ctx)
            self.outbox.answer(ctx.id, result_message(ctx.id, result))
        except BaseException as exc:  # noqa: BLE001 - every failure is answered, never raised
            if ctx.cancelled and not (isinstance(exc, RpcError) and exc.code == CANCELLED):
                exc = cancelled_error()
            if not isinstance(exc, RpcError):
                log_stderr(f"{ctx.method} #{ctx.id} failed: {type(exc).__name__}: {exc}")
            self.outbox.answer(ctx.id, error_message(ctx.id, to_wire_error(exc)))
        finally:
            with self._lock:
                self._in_flight.pop(ctx.id, None)

    def _cancel(self, target):
        with self._lock:
            ctx = self._in_flight.get(target)
        if ctx is not None:
            ctx.cancel_event.set()

    def _cancel_all(self):
        with self._lock:
            contexts = list(self._in_flight.values())
        for ctx in contexts:
            ctx.cancel_event.set()

    def _shutdown(self, rid, params):
        grace_ms = 5000
        if isinstance(params, dict) and isinstance(params.get("grace_ms"), (int, float)) and params["grace_ms"] >= 0:
            grace_ms = params["grace_ms"]
        self.exit_reason = "shutdown"
        # Like the TS worker: in-flight work is cancelled at once; it gets up to grace_ms to wind
        # down (so its -32800 answers reach the daemon) before the reply and the exit.
        self._cancel_all()
        # Half the grace for winding down, so the exit itself stays within grace_ms.
        deadline = time.monotonic() + grace_ms / 2000.0
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_flight:
                    break
            time.sleep(0.01)
        self.conn.respond(rid, {})
        self._done.set()


def connect(path, timeout_s=10.0):
    """Connect to the daemon's socket, retrying a missing/refused socket for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
