"""Surviving a daemon restart (bwp/1 "Reconnecting after a daemon restart").

``Outbox`` is where the worker's messages go: the live connection, or, while the worker
reconnects, a backlog. The backlog keeps the answers owed and, up to a bound, the notifications
(the oldest are dropped first, never an answer). The next connection gets a ``hello`` whose
``in_flight`` names the requests still owed an answer, then the backlog with the original ids.
"""

import collections
import math
import threading
import time

MAX_QUEUED_NOTIFICATIONS = 10_000
RECENT_ANSWERS = 8
# An answer written this shortly before the connection was lost may never have been read.
UNREAD_WINDOW_S = 5.0


def parse_reconnect_ms(value):
    """``BACKPLANE_WORKER_RECONNECT_MS`` as milliseconds (unset or empty: 0); ValueError when it is not."""
    if value is None or not value.strip():
        return 0.0
    ms = float(value)
    if not math.isfinite(ms) or ms < 0:
        raise ValueError(value)
    return ms


class Outbox:
    """Sends on the live connection; with ``reconnect_ms`` > 0 keeps what is owed while there is none.

    ``hello`` is a function returning the hello params. A connection is anything with
    ``send(message) -> bool`` (False: it is closed, the message was not sent).
    """

    def __init__(self, hello, reconnect_ms=0):
        self.reconnect_ms = reconnect_ms
        self._hello = hello
        self._conn = None
        self._lock = threading.Lock()
        self._ended = False
        self._unanswered = {}  # id -> method: not answered on a live connection yet
        self._recent = collections.deque(maxlen=RECENT_ANSWERS)  # (id, method, message, monotonic time) of the last answers written
        self._backlog = []  # (owed, message); owed is (id, method) for an answer, None for a notification
        self._queued_notifications = 0

    @property
    def owed_count(self):
        with self._lock:
            return len(self._unanswered)

    def attach(self, conn):
        """A new connection: hello (with ``in_flight`` after a reconnect), then the backlog."""
        with self._lock:
            self._conn = conn
            hello = dict(self._hello())
            if self._unanswered:
                hello["in_flight"] = [{"id": rid, "method": method} for rid, method in self._unanswered.items()]
            conn.send({"jsonrpc": "2.0", "method": "hello", "params": hello})
            backlog, self._backlog = self._backlog, []
            self._queued_notifications = 0
            for owed, message in backlog:
                self._deliver(message, owed)

    def detach(self):
        """The connection is gone. True when there is work to reconnect for."""
        with self._lock:
            self._conn = None
            now = time.monotonic()
            unread = [r for r in self._recent if now - r[3] < UNREAD_WINDOW_S]
            self._recent.clear()
            if self.reconnect_ms <= 0 or self._ended or not (self._unanswered or unread):
                return False
            for rid, method, message, _ in reversed(unread):
                self._unanswered.setdefault(rid, method)
                self._backlog.insert(0, ((rid, method), message))
            return True

    def end(self):
        """No more connections: drop what waits."""
        with self._lock:
            self._ended = True
            self._conn = None
            self._backlog = []

    def owe(self, rid, method):
        """A request that will be answered through :meth:`answer`."""
        with self._lock:
            self._unanswered[rid] = method

    def answer(self, rid, message):
        with self._lock:
            self._deliver(message, (rid, self._unanswered.get(rid, "")))

    def notify(self, method, params):
        with self._lock:
            self._deliver({"jsonrpc": "2.0", "method": method, "params": params}, None)

    def live(self, method, params):
        """A notification for the live connection only (heartbeat): not kept for the next one."""
        with self._lock:
            if self._conn is not None:
                self._conn.send({"jsonrpc": "2.0", "method": method, "params": params})

    def _deliver(self, message, owed):
        if self._conn is not None and self._conn.send(message):
            if owed is not None:
                self._unanswered.pop(owed[0], None)
                self._recent.append((owed[0], owed[1], message, time.monotonic()))
            return
        if self.reconnect_ms <= 0 or self._ended:
            return
        if owed is None:
            self._queued_notifications += 1
            if self._queued_notifications > MAX_QUEUED_NOTIFICATIONS:
                self._drop_oldest_notification()
        self._backlog.append((owed, message))

    def _drop_oldest_notification(self):
        for i, (owed, _) in enumerate(self._backlog):
            if owed is None:
                del self._backlog[i]
                self._queued_notifications -= 1
                return
