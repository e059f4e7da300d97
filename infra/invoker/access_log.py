"""The invoker's access log: one line per request; bucket-event webhook calls counted, not listed.

The store posts a webhook for every change it makes, its own bookkeeping included: a line each
would bury the requests a person is looking for.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger("profilepics.invoker.access")
SUMMARY_SECONDS = 5.0
EVENT_PATHS = "/_events/"
LONGEST_PATH = 200


class AccessLog:
    def __init__(self, summary_seconds: float = SUMMARY_SECONDS) -> None:
        self._every = summary_seconds
        self._lock = threading.Lock()
        self._event_calls: Counter[int] = Counter()
        self._timer: threading.Timer | None = None

    def __call__(
        self, method: str, path: str, status: int, millis: float, function: str | None
    ) -> None:
        """Log one answered request (method "-" when it could not be parsed)."""
        if path.startswith(EVENT_PATHS):
            self._count_event_call(status)
            return
        shown = path if len(path) <= LONGEST_PATH else path[:LONGEST_PATH] + "..."
        log.info("%s %s %d %.1f ms %s", method, shown, status, millis, function or "-")

    def _count_event_call(self, status: int) -> None:
        with self._lock:
            self._event_calls[status] += 1
            if self._timer is None:
                self._timer = threading.Timer(self._every, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Log the event calls counted since the last summary, if any."""
        with self._lock:
            calls, self._event_calls = self._event_calls, Counter()
            self._timer = None
        if calls:
            statuses = ", ".join(f"{count} x {status}" for status, count in sorted(calls.items()))
            log.info(
                "bucket events: %d webhook calls in %.0f s (%s)",
                calls.total(),
                self._every,
                statuses,
            )

    def close(self) -> None:
        with self._lock:
            timer = self._timer
        if timer is not None:
            timer.cancel()
        self.flush()
