"""What operators alarm on: uploads by outcome, bytes, timings, failed events.

Recorded as CloudWatch embedded metric format (EMF) lines on stdout by Powertools: CloudWatch
turns them into metrics from the function's logs, with no API call and no added latency. The
local invoker reads the same lines from its workers and serves them as Prometheus text at
GET /metrics (infra/invoker/metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from profilepics.errors import ProblemError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

NAMESPACE = "profilepics"


class Metric(StrEnum):
    UPLOADS = "Uploads"  # by outcome (created, replaced or the error code) and path (api, direct)
    UPLOAD_BYTES = "UploadBytes"  # the bytes received, by path
    VALIDATION_TIME = "ValidationTime"  # sniff, decode, clean (ms), by path
    PROCESSING_TIME = "ProcessingTime"  # making and storing the variants (ms)
    UPLOAD_TO_READY = "UploadToReady"  # from the stored original to its variants recorded (ms)
    EVENTS_FAILED = "EventsFailed"  # by function, and kind: retry (raised) or permanent
    ON_DEMAND_TIME = "OnDemandTime"  # making a variant on first request (ms), by format


UNITS = {
    Metric.UPLOADS: "Count",
    Metric.UPLOAD_BYTES: "Bytes",
    Metric.VALIDATION_TIME: "Milliseconds",
    Metric.PROCESSING_TIME: "Milliseconds",
    Metric.UPLOAD_TO_READY: "Milliseconds",
    Metric.EVENTS_FAILED: "Count",
    Metric.ON_DEMAND_TIME: "Milliseconds",
}


class Meter(Protocol):
    def record(self, metric: Metric, value: float, **dimensions: str) -> None: ...


class NullMeter:
    def record(self, metric: Metric, value: float, **dimensions: str) -> None:
        pass


class EmfMeter:
    """One EMF line per value, each with its own dimensions (Powertools' single_metric)."""

    def record(self, metric: Metric, value: float, **dimensions: str) -> None:
        from aws_lambda_powertools.metrics import single_metric

        with single_metric(
            name=metric.value,
            unit=UNITS[metric],  # type: ignore[arg-type]  # a MetricUnit value, by name
            value=value,
            namespace=NAMESPACE,
            default_dimensions=dimensions or None,
        ):
            pass


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Yields a function giving the milliseconds since the block began."""
    began = time.perf_counter()
    yield lambda: (time.perf_counter() - began) * 1e3


def counting_uploads(meter: Callable[[], Meter]) -> Callable[..., Any]:
    """A route middleware recording Uploads by outcome: 201 created, 200 replaced, else the
    problem code the route answered with (file_too_large, image_corrupt, forbidden...)."""

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        try:
            response = next_middleware(app)
        except ProblemError as exc:
            meter().record(Metric.UPLOADS, 1, outcome=exc.code, path="api")
            raise
        except Exception:
            meter().record(Metric.UPLOADS, 1, outcome="internal_error", path="api")
            raise
        outcome = {201: "created", 200: "replaced"}.get(response.status_code, "other")
        meter().record(Metric.UPLOADS, 1, outcome=outcome, path="api")
        return response

    return middleware
