"""Samples and result rows: medians with min-max ranges, and the targets they are held to."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one thing, in one unit."""

    values: tuple[float, ...]
    unit: str

    @classmethod
    def of(cls, values: Sequence[float], unit: str) -> Sample:
        if not values:
            raise ValueError("a sample needs at least one value")
        return cls(tuple(values), unit)

    @classmethod
    def summary(cls, median: float, low: float, high: float, unit: str) -> Sample:
        """A distribution known only by its median and extremes (as a load generator reports)."""
        return cls((low, median, high), unit)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


def timed(call: Callable[[], object], repeat: int = 5, warmup: int = 1, unit: str = "ms") -> Sample:
    """Wall time of call(), repeat times after warmup untimed calls."""
    scale = {"s": 1.0, "ms": 1e3, "µs": 1e6}[unit]
    for _ in range(warmup):
        call()
    values = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        values.append((time.perf_counter() - began) * scale)
    return Sample.of(values, unit)


def interleaved(
    calls: Mapping[str, Callable[[], object]],
    repeat: int = 5,
    fewer: Mapping[str, int] | None = None,
    unit: str = "ms",
) -> dict[str, Sample]:
    """Wall time of each call, timed in rounds (a, b, c, a, b, c, ...) after one untimed call
    each, so a burst of load from elsewhere on the machine falls on every approach alike.
    fewer caps the rounds of the slow ones."""
    scale = {"s": 1.0, "ms": 1e3, "µs": 1e6}[unit]
    rounds = {name: min(repeat, (fewer or {}).get(name, repeat)) for name in calls}
    values: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()
    for index in range(repeat):
        for name, call in calls.items():
            if index < rounds[name]:
                began = time.perf_counter()
                call()
                values[name].append((time.perf_counter() - began) * scale)
    return {name: Sample.of(found, unit) for name, found in values.items()}


def per_call(call: Callable[[], object], calls: int, batches: int = 5, unit: str = "µs") -> Sample:
    """Time per call, from batches of calls: for operations too short to time one by one."""
    scale = {"ms": 1e3, "µs": 1e6}[unit]
    call()
    values = []
    for _ in range(batches):
        began = time.perf_counter()
        for _ in range(calls):
            call()
        values.append((time.perf_counter() - began) * scale / calls)
    return Sample.of(values, unit)


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    section: str
    case: str
    approach: str
    sample: Sample | None
    note: str = ""


@dataclass(frozen=True)
class Target:
    """A goal from the issue and whether this run met it."""

    section: str
    goal: str
    measured: str
    met: bool | None  # None: could not be measured in this run


def ratio(numerator: Sample, denominator: Sample) -> float:
    return numerator.median / denominator.median


def process_cpu(call: Callable[[], object], repeat: int) -> Sample:
    """CPU time of the process (every thread): decoders that spread out are not flattered."""
    values = []
    for _ in range(repeat):
        began = time.process_time()
        call()
        values.append((time.process_time() - began) * 1e3)
    return Sample.of(values, "ms")
