"""Function instances as worker processes, supervised the way Lambda supervises its instances.

Each worker runs one invocation at a time, with exactly its function's environment: powertools
keeps the current request on the resolver *class*, so threads in one process would see each
other's events, and a process per instance is also how Lambda isolates them. A worker that runs
past its function's Timeout or MemorySize is killed, as Lambda stops such an instance, so the
work it was doing never lands later; a worker that died is replaced by a fresh one.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import queue
import resource
import select
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from types import ModuleType
from typing import Any

from infra.invoker.metrics import capturing_emf
from infra.invoker.template import Function

log = logging.getLogger("profilepics.invoker")
Handler = Callable[[dict[str, Any], Any], Any]

# Lambda's own error types for an instance it stopped (its invoke API reports these).
TIMED_OUT = "Sandbox.Timedout"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
EXITED = "Runtime.ExitError"
INIT_FAILED = "Runtime.ImportModuleError"
# Not Lambda's: API Gateway stopped waiting (its integration timeout) or never got a worker.
GATEWAY_TIMEOUT = "IntegrationTimeout"
# Lambda gives the init phase 10 s and then retries it inside the invocation's own timeout.
INIT_SECONDS = 10.0
# How often a busy worker's resident memory is read (~10 µs a read from /proc).
WATCH_INTERVAL = 0.02
_PAGE = resource.getpagesize()


@dataclass(frozen=True)
class Outcome:
    """What one invocation gave: the handler's result, or the error type of its failure."""

    result: Any = None
    error: str | None = None
    # The EMF metric documents the invocation printed (GET /metrics serves them locally).
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 0)


def load_module(function: Function, prefix: str = "fn") -> ModuleType:
    """Import the function's module from its code folder under a name of its own."""
    module_name = function.handler.rpartition(".")[0]
    path = function.code_dir / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"{prefix}_{function.name}_{module_name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_handler(function: Function) -> Handler:
    handler: Handler = getattr(load_module(function), function.handler.rpartition(".")[2])
    return handler


def invoke_once(function: Function, handler: Handler, event: dict[str, Any]) -> Any:
    context = LambdaContext(
        function.name, function.memory, str(uuid.uuid4()), time.monotonic() + function.timeout
    )
    return handler(event, context)


def _worker_main(conn: Connection, function: Function, environment: Mapping[str, str]) -> None:
    """A worker process: load the handler once, then serve invocations until the pipe closes."""
    # Ctrl-C reaches the whole process group: the invoker, not the terminal, stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(environment)
    try:
        handler = load_handler(function)
    except Exception:  # the module failed to import: Lambda reports this and drops the instance
        conn.send(("init_failed", None))
        return
    conn.send(("ready", None))
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return  # the invoker is gone
        # The EMF documents the invocation prints are its metrics: they go back with the result.
        with capturing_emf() as metrics:
            try:
                reply: tuple[str, Any] = ("result", invoke_once(function, handler, event))
            except Exception as exc:  # an unhandled error is the invocation's result, as Lambda's
                reply = ("error", type(exc).__name__)
        conn.send((*reply, metrics))


class Worker:
    """One instance: a process spawned with the function's environment, talked to over a pipe."""

    def __init__(self, function: Function, environment: Mapping[str, str]) -> None:
        context = get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main,
            args=(child, function, dict(environment)),
            name=f"worker-{function.name}",
            daemon=True,
        )
        self.process.start()
        child.close()
        # One poller for the worker's life: Connection.poll builds a selector on every call.
        self._poller = select.poll()
        self._poller.register(self._conn.fileno(), select.POLLIN)
        self._memory_limit = function.memory * 1024 * 1024
        self._init_seconds = INIT_SECONDS + function.timeout
        self.ready = False
        self.healthy = True

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def start(self, event: dict[str, Any], answer_by: float) -> str | None:
        """Send the event once the worker is ready; the error type if it never got there."""
        if not self.ready:
            init_by = time.monotonic() + self._init_seconds
            message = self._next(min(init_by, answer_by))
            if message == ("ready", None):
                self.ready = True
            elif message == TIMED_OUT and time.monotonic() < init_by:
                return self._failed(GATEWAY_TIMEOUT)
            else:
                return self._failed(INIT_FAILED if isinstance(message, tuple) else message)
        try:
            self._conn.send(event)
        except (OSError, ValueError):
            return self._failed(EXITED)
        return None

    def finish(self, stop_at: float, answer_by: float = math.inf) -> Outcome | None:
        """The invocation's outcome; None if it still runs when the caller stops waiting."""
        message = self._next(min(stop_at, answer_by))
        if isinstance(message, tuple):
            kind, value, metrics = message
            if kind == "result":
                return Outcome(result=value, metrics=metrics)
            return Outcome(error=str(value), metrics=metrics)
        if message == TIMED_OUT and time.monotonic() < stop_at:
            return None  # only the caller's deadline passed: the function may go on
        return Outcome(error=self._failed(message))

    def _next(self, until: float) -> tuple[Any, ...] | str:
        """The worker's next message, or why none came: timed out, exited, out of memory."""
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return TIMED_OUT
            try:
                if self._poller.poll(min(remaining, WATCH_INTERVAL) * 1000):
                    message: tuple[Any, ...] = self._conn.recv()
                    return message
            except (EOFError, OSError):
                return EXITED
            if self._resident() > self._memory_limit:
                return OUT_OF_MEMORY

    def _resident(self) -> int:
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            return 0  # gone: the pipe tells why

    def _failed(self, error: str) -> str:
        self.healthy = False
        self.kill()
        return error

    def kill(self) -> None:
        """Stop the process at once (SIGKILL), as Lambda stops an instance, and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self._conn.close()


class FunctionPool:
    """Up to `instances` warm instances of one function; a dead or stopped one is replaced.

    A caller takes a slot from a queue (C-level: handing a freed slot to a waiting caller is one
    lock hand-off), then the instance used last, as Lambda reuses a warm one; a new instance
    starts only when every started one is busy.
    """

    def __init__(self, function: Function, environment: Mapping[str, str], instances: int) -> None:
        self.function = function
        self._environment = dict(environment)
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(instances):
            self._slots.put(None)
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def invoke(self, event: dict[str, Any], answer_within: float | None = None) -> Outcome:
        """Run one invocation. With `answer_within`, give up waiting after that many seconds
        (API Gateway's integration timeout); the worker still runs until its own timeout."""
        answer_by = math.inf if answer_within is None else time.monotonic() + answer_within
        try:
            self._slots.get(timeout=answer_within)
        except queue.Empty:
            return Outcome(error=GATEWAY_TIMEOUT)
        worker = self._checkout()
        stop_at = math.inf
        try:
            error = worker.start(event, answer_by)
            if error is None:
                stop_at = time.monotonic() + self.function.timeout
                outcome = worker.finish(stop_at, answer_by)
            else:
                outcome = Outcome(error=error)
        except BaseException:
            worker.healthy = False  # in an unknown state: never hand it another request
            self._release(worker)
            raise
        if outcome is None:
            threading.Thread(target=self._settle, args=(worker, stop_at), daemon=True).start()
            return Outcome(error=GATEWAY_TIMEOUT)
        self._release(worker)
        return outcome

    def _settle(self, worker: Worker, stop_at: float) -> None:
        """Keep watching a worker whose caller stopped waiting, then release its slot."""
        outcome = worker.finish(stop_at)
        if outcome is not None and outcome.failed:
            log.warning("%s failed after its caller gave up: %s", self.function.name, outcome.error)
        self._release(worker)

    def _checkout(self) -> Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                log.warning("%s: worker %s had died; replacing it", self.function.name, worker.pid)
                worker.kill()
        return Worker(self.function, self._environment)

    def _release(self, worker: Worker) -> None:
        with self._lock:
            if worker.healthy and not self._closed:
                self._idle.append(worker)
            else:
                worker.kill()
                if not self._closed:
                    # A fresh instance warms up now, so the next request doesn't pay for it.
                    self._idle.append(Worker(self.function, self._environment))
        self._slots.put(None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
