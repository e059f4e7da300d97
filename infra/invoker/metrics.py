"""The functions' metrics, served locally as Prometheus text at GET /metrics.

Functions record metrics as CloudWatch EMF documents printed on stdout
(layers/core/profilepics/metrics.py). On AWS, CloudWatch extracts them from the logs; here a
worker collects the documents its invocation printed and hands them back with the result, and
this registry turns them into the same numbers in Prometheus' text format:

    EMF Count          -> counter   <namespace>_<name>_total
    EMF Milliseconds   -> histogram <namespace>_<name>_seconds (converted to seconds)
    EMF Bytes          -> histogram <namespace>_<name>_bytes
    EMF dimensions     -> labels
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("profilepics.invoker")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BYTES_BUCKETS = (1024.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0)
MAX_SERIES = 2000  # a dimension gone wild must not grow the invoker without bound
Labels = tuple[tuple[str, str], ...]


@contextlib.contextmanager
def capturing_emf() -> Iterator[list[dict[str, Any]]]:
    """Collect the EMF documents printed inside the block; other output passes through."""
    documents: list[dict[str, Any]] = []
    real = sys.stdout
    buffer = io.StringIO()
    sys.stdout = buffer
    try:
        yield documents
    finally:
        sys.stdout = real
        for line in buffer.getvalue().splitlines():
            document = _emf(line)
            if document is None:
                real.write(line + "\n")
            else:
                documents.append(document)
        real.flush()


def _emf(line: str) -> dict[str, Any] | None:
    if not line.startswith('{"_aws"'):
        return None
    try:
        document = json.loads(line)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _snake(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-zA-Z0-9_]", "_", spaced).lower()


@dataclass
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1


class Registry:
    """Counters and histograms fed with EMF documents; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, Labels], float] = {}
        self._histograms: dict[tuple[str, Labels], _Histogram] = {}

    def observe_all(self, documents: Iterable[Mapping[str, Any]]) -> None:
        for document in documents:
            self.observe(document)

    def observe(self, document: Mapping[str, Any]) -> None:
        aws = document.get("_aws")
        if not isinstance(aws, dict):
            return
        for directive in aws.get("CloudWatchMetrics") or []:
            namespace = _snake(str(directive.get("Namespace", "")))
            names = sorted({str(d) for dims in directive.get("Dimensions") or [] for d in dims})
            labels = tuple((_snake(d), str(document.get(d, ""))) for d in names)
            for definition in directive.get("Metrics") or []:
                name = f"{namespace}_{_snake(str(definition.get('Name', '')))}"
                values = document.get(str(definition.get("Name", "")))
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        self._add(name, str(definition.get("Unit", "None")), labels, value)

    def _add(self, name: str, unit: str, labels: Labels, value: float) -> None:
        with self._lock:
            if len(self._counters) + len(self._histograms) >= MAX_SERIES:
                if (name, labels) not in self._counters and (name, labels) not in self._histograms:
                    log.warning("metrics: series limit reached, dropping %s", name)
                    return
            if unit == "Count":
                key = (f"{name}_total", labels)
                self._counters[key] = self._counters.get(key, 0.0) + value
            elif unit == "Milliseconds":
                self._histogram(f"{name}_seconds", labels, SECONDS_BUCKETS).observe(value / 1e3)
            elif unit == "Bytes":
                series = name if name.endswith("_bytes") else f"{name}_bytes"
                self._histogram(series, labels, BYTES_BUCKETS).observe(value)
            else:
                self._histogram(name, labels, SECONDS_BUCKETS).observe(value)

    def _histogram(self, name: str, labels: Labels, buckets: tuple[float, ...]) -> _Histogram:
        return self._histograms.setdefault((name, labels), _Histogram(buckets))

    def render(self) -> str:
        """The exposition text (Prometheus text format 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            typed: set[str] = set()
            for (name, labels), value in sorted(self._counters.items()):
                if name not in typed:
                    lines.append(f"# TYPE {name} counter")
                    typed.add(name)
                lines.append(f"{name}{_labels(labels)} {_number(value)}")
            for (name, labels), histogram in sorted(self._histograms.items()):
                if name not in typed:
                    lines.append(f"# TYPE {name} histogram")
                    typed.add(name)
                for bound, count in zip(histogram.buckets, histogram.counts, strict=True):
                    le = (("le", repr(bound)),)
                    lines.append(f"{name}_bucket{_labels(labels + le)} {count}")
                inf = (("le", "+Inf"),)
                lines.append(f"{name}_bucket{_labels(labels + inf)} {histogram.count}")
                lines.append(f"{name}_sum{_labels(labels)} {_number(histogram.total)}")
                lines.append(f"{name}_count{_labels(labels)} {histogram.count}")
        return "\n".join(lines) + "\n" if lines else ""


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (
        (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")) for k, v in labels
    )
    return "{" + ",".join(f'{k}="{v}"' for k, v in escaped) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))
