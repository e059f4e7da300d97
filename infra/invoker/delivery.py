"""Delivers bucket events to the functions whose S3 triggers match, without losing any.

Two ways to acknowledge, by who keeps the event until it is done:
- PERSIST (`profilepics up`): SeaweedFS's webhook keeps nothing (three tries in memory), so an
  event is acknowledged once it is in the spool; the invoker then delivers it with backoff,
  again after a restart, and moves it to the dead letters after its last attempt.
- SUCCESS (`profilepics serve` behind MinIO): MinIO's queue_dir keeps the event on disk until
  it gets a 2xx, so the function runs inside the request and a failure answers 503 for MinIO to
  redeliver. MinIO retries one event every 3 s and sends none behind it meanwhile, so after its
  last attempt a failing event is acknowledged into the dead letters rather than blocking all
  the rest.
Either way `profilepics events --redrive` hands dead events back to this invoker's loop.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.invoker.events import decoded_key
from infra.invoker.spool import HELD, Entry, Spool, SpoolUnavailable
from infra.invoker.template import Template, Trigger
from infra.invoker.workers import INIT_SECONDS, Outcome

log = logging.getLogger("profilepics.invoker")
Invoke = Callable[[str, dict[str, Any]], Outcome]
POLL_SECONDS = 0.5  # how soon a redrive made by another process (the CLI) is noticed
HELD_FOR = 24 * 3600.0  # a held event not redelivered for a day succeeded elsewhere


class Ack(StrEnum):
    PERSIST = "persist"
    SUCCESS = "success"


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per event, and the pause before each retry: backoff x factor^(attempt-1)."""

    attempts: int = 4
    backoff: float = 1.0
    factor: float = 4.0

    def delay(self, attempt: int) -> float:
        return self.backoff * self.factor ** (attempt - 1)


@dataclass(frozen=True)
class Accepted:
    """The answer to the event's sender: 204, or a problem that makes it send again."""

    status: int = 204
    code: str = ""
    title: str = ""


NOT_RECORDED = Accepted(503, "events_unavailable", "The event could not be recorded; send it again")
NOT_DONE = Accepted(503, "event_failed", "The event's function failed; send it again")


def lease_seconds(template: Template) -> float:
    """How long a delivery may hold its event: a claimed event comes due again after that (or
    at the next start), and no invocation outlives its function's timeout and init."""
    timeouts = [template.functions[t.function].timeout for t in template.triggers]
    return max(timeouts, default=0) + INIT_SECONDS + 5


def route(triggers: Iterable[Trigger], records: Iterable[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(function, record) for every trigger each record matches."""
    routed: list[tuple[str, Any]] = []
    for record in records:
        key = decoded_key(record)
        # S3 names events "ObjectCreated:Put", MinIO "s3:ObjectCreated:Put", as templates do.
        name = str(record.get("eventName", ""))
        name = name if name.startswith("s3:") else f"s3:{name}"
        routed.extend((t.function, record) for t in triggers if t.matches(name, key))
    return routed


class Delivery:
    def __init__(
        self,
        triggers: Sequence[Trigger],
        invoke: Invoke,
        spool: Spool,
        ack: Ack = Ack.PERSIST,
        retry: RetryPolicy | None = None,
        lease_seconds: float = 120.0,
        concurrency: int = 2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._triggers = triggers
        self._invoke = invoke
        self.spool = spool
        self._ack = ack
        self._retry = retry or RetryPolicy()
        self._lease = lease_seconds
        self._clock = clock
        self._slots = threading.Semaphore(concurrency)
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="events")
        self._wake = threading.Condition()
        self._news = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def accept(self, records: Iterable[dict[str, Any]]) -> Accepted:
        routed = route(self._triggers, records)
        if not routed:
            return Accepted()
        if self._ack is Ack.SUCCESS:
            return self._run_now(routed)
        try:
            self.spool.add(routed)
        except SpoolUnavailable as exc:
            log.error("event not recorded (%s): asking the sender to retry", exc)
            return NOT_RECORDED
        self.wake()
        return Accepted()

    def enqueue(self, records: Iterable[dict[str, Any]]) -> int:
        """Spool records for delivery by this loop, whatever the ack mode (redrives, healing)."""
        routed = route(self._triggers, records)
        self.spool.add(routed)
        self.wake()
        return len(routed)

    def _run_now(self, routed: list[tuple[str, Any]]) -> Accepted:
        try:
            entries = self.spool.add(routed, state=HELD)
        except SpoolUnavailable as exc:
            log.error("event not recorded (%s): asking the sender to retry", exc)
            return NOT_RECORDED
        again = False
        for entry in entries:
            if entry.state != HELD:
                continue  # already dead-lettered or redriven: ours now, not the sender's
            try:
                again |= not self._run_held(entry)
            except SpoolUnavailable as exc:
                log.error("event spool unwritable (%s): asking the sender to retry", exc)
                again = True
        return NOT_DONE if again else Accepted()

    def _run_held(self, entry: Entry) -> bool:
        """Run a held event once; True when the sender may forget it (done, or dead here)."""
        outcome = self._invoke(entry.function, {"Records": [entry.record]})
        if not outcome.failed:
            self.spool.succeeded(entry.id)
            return True
        if self.spool.held_failed(entry.id, str(outcome.error), self._retry.attempts):
            log.error(
                "%s: %s dead after its last attempt (%s)", entry.function, entry.key, outcome.error
            )
            return True
        log.warning(
            "%s: %s failed (%s): the sender retries", entry.function, entry.key, outcome.error
        )
        return False

    def start(self, first: Callable[[], None] | None = None) -> None:
        """Start delivering in the background; `first` runs before the first delivery."""
        self._thread = threading.Thread(target=self._run, args=(first,), name="delivery")
        self._thread.daemon = True
        self._thread.start()

    def _run(self, first: Callable[[], None] | None) -> None:
        try:
            self.spool.due_now()  # whatever was in flight when the last run stopped is not
            self.spool.forget_held(HELD_FOR)
            if first is not None:
                first()
        except Exception as exc:  # a failed start-up chore must not stop delivery
            log.error("event start-up chore failed: %s", type(exc).__name__)
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=POLL_SECONDS):
                continue
            entry = self._claim()
            if entry is None:
                self._slots.release()
                self._idle()
                continue
            try:
                self._executor.submit(self._deliver, entry)
            except RuntimeError:
                return  # shutting down: the lease runs out and the next start delivers it

    def _claim(self) -> Entry | None:
        try:
            return self.spool.claim(self._lease)
        except (SpoolUnavailable, sqlite3.Error) as exc:
            log.error("event spool unreadable: %s", type(exc).__name__)
            return None

    def _idle(self) -> None:
        """Wait for news: a new event, a finished delivery, a retry coming due, or a redrive."""
        try:
            due = self.spool.next_due()
        except sqlite3.Error:
            due = None
        pause = POLL_SECONDS if due is None else min(max(due - self._clock(), 0.01), POLL_SECONDS)
        with self._wake:
            if not self._news:
                self._wake.wait(pause)
            self._news = False

    def wake(self) -> None:
        with self._wake:
            self._news = True
            self._wake.notify_all()

    def _deliver(self, entry: Entry) -> None:
        try:
            outcome = self._invoke(entry.function, {"Records": [entry.record]})
            if not outcome.failed:
                self.spool.succeeded(entry.id)
            elif entry.attempts >= self._retry.attempts:
                log.error(
                    "%s: %s dead after %d attempts (%s)",
                    entry.function,
                    entry.key,
                    entry.attempts,
                    outcome.error,
                )
                self.spool.failed(entry.id, str(outcome.error), None)
            else:
                retry_at = self._clock() + self._retry.delay(entry.attempts)
                log.warning(
                    "%s: %s attempt %d failed (%s)",
                    entry.function,
                    entry.key,
                    entry.attempts,
                    outcome.error,
                )
                self.spool.failed(entry.id, str(outcome.error), retry_at)
        except (SpoolUnavailable, sqlite3.Error) as exc:
            log.error("event spool unwritable: %s", type(exc).__name__)
        finally:
            self._slots.release()
            self.wake()

    def close(self) -> None:
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(POLL_SECONDS * 4)
        self._executor.shutdown(wait=False, cancel_futures=True)
