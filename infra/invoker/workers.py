"""Function instances as worker processes: each runs one invocation at a time, like Lambda.

Powertools keeps the current request on the resolver *class*, so two requests in threads of
one process would see each other's events; a process per instance keeps them apart and gives
each function exactly its own environment.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from types import ModuleType
from typing import Any

from infra.invoker.metrics import capturing_emf
from infra.invoker.template import Function

Handler = Callable[[dict[str, Any], Any], Any]
_handler: Handler | None = None
_spec: dict[str, Any] = {}


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


def _start(function: Function, environment: Mapping[str, str]) -> None:
    global _handler
    os.environ.clear()
    os.environ.update(environment)
    _spec["function"] = function
    _handler = load_handler(function)


def _run(event: dict[str, Any]) -> dict[str, Any]:
    """{'result': ...} or {'errorType': ...}, with the EMF metrics the invocation printed."""
    assert _handler is not None
    outcome: dict[str, Any]
    with capturing_emf() as metrics:
        try:
            outcome = {"result": invoke_once(_spec["function"], _handler, event)}
        except Exception as exc:  # an unhandled error is the invocation's result, as in Lambda
            outcome = {"errorType": type(exc).__name__}
    return {**outcome, "metrics": metrics} if metrics else outcome


class FunctionPool:
    """Up to `instances` warm instances of one function, started on demand."""

    def __init__(self, function: Function, environment: Mapping[str, str], instances: int) -> None:
        self.function = function
        self._executor = ProcessPoolExecutor(
            max_workers=instances,
            mp_context=get_context("spawn"),
            initializer=_start,
            initargs=(function, dict(environment)),
        )

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """{'result': ...} or {'errorType': ...}; a timeout counts as an error."""
        future = self._executor.submit(_run, event)
        try:
            outcome: dict[str, Any] = future.result(timeout=self.function.timeout + 5)
        except TimeoutError:
            return {"errorType": "Timeout"}
        return outcome

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
