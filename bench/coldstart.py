"""Section 4: importing each function's module in a fresh interpreter, .pyc files present,
against importing the naive full stack every function would otherwise carry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.measure import Row, Sample, Target

SECTION = "4 Cold start"
REPO = Path(__file__).resolve().parent.parent
HEAVY = ("PIL", "boto3", "minio")
MUST_NOT_LOAD_PILLOW = ("get_url", "profiles")

# What a function written without care loads up front: both SDKs, Pillow, pydantic and
# Powertools' logger, tracer and resolver, as issue 5 defines the naive stack. Tracer() loads
# aws-xray-sdk (the bench extra installs it) when it runs in Lambda, as every probe here
# pretends to; the row without it is kept as the stricter comparison.
NAIVE_UNTRACED = """
import boto3, minio, pydantic
from PIL import Image
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
Logger(service="naive")
APIGatewayHttpResolver(enable_validation=True)
"""
NAIVE = NAIVE_UNTRACED + 'Tracer(service="naive")\n'

_PROBE = """
import json, sys, time
began = time.perf_counter()
{body}
took = time.perf_counter() - began
print(json.dumps({{"ms": took * 1e3, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def functions() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "functions").glob("*/app.py"))


def _environment(function: str | None) -> dict[str, str]:
    """As Lambda runs it: the function's folder and the layer on the path, nothing else."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k in keep if (v := os.environ.get(k)) is not None}
    env["AWS_REGION"] = "us-east-1"
    env["AWS_LAMBDA_FUNCTION_NAME"] = function or "naive"
    if function is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO / "functions" / function), str(REPO / "layers" / "core")]
        )
    return env


def probe(body: str, function: str | None) -> tuple[float, list[str]]:
    """Milliseconds to run body in a fresh interpreter, and which heavy packages it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)],
        env=_environment(function),
        cwd=REPO / "functions" / function if function else REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return float(got["ms"]), list(got["loaded"])


def measure(
    jobs: dict[str, tuple[str, str | None]], repeat: int
) -> dict[str, tuple[Sample, list[str]]]:
    """Each job's import time, in rounds across the jobs so machine noise falls on all alike."""
    for body, function in jobs.values():
        probe(body, function)  # writes the .pyc files
    found: dict[str, list[tuple[float, list[str]]]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, (body, function) in jobs.items():
            found[name].append(probe(body, function))
    return {
        name: (Sample.of([ms for ms, _ in results], "ms"), results[-1][1])
        for name, results in found.items()
    }


def run(repeat: int = 5) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    jobs: dict[str, tuple[str, str | None]] = {
        "naive": (NAIVE, None),
        "naive_untraced": (NAIVE_UNTRACED, None),
    }
    jobs.update({function: ("import app", function) for function in functions()})
    measured = measure(jobs, repeat)
    naive, naive_loaded = measured["naive"]
    untraced = measured["naive_untraced"][0]
    for function in functions():
        sample, loaded = measured[function]
        share = sample.median / naive.median
        loads = ", ".join(loaded) if loaded else "none"
        strict = sample.median / untraced.median
        note = (
            f"{share:.0%} of naive ({strict:.0%} without Tracer()); "
            f"loads {loads} of {', '.join(HEAVY)}"
        )
        rows.append(Row(SECTION, f"functions/{function}", "import app", sample, note))
        if function in MUST_NOT_LOAD_PILLOW:
            targets.append(
                Target(SECTION, f"{function}: ≤ 50% of naive", f"{share:.0%}", share <= 0.5)
            )
            targets.append(
                Target(
                    SECTION,
                    f"{function}: does not import Pillow",
                    "imports PIL" if "PIL" in loaded else "no PIL",
                    "PIL" not in loaded,
                )
            )
    note = f"loads {', '.join(naive_loaded)}"
    approach = "boto3+minio+PIL+powertools Logger/Tracer()/resolver+pydantic"
    rows.append(Row(SECTION, "naive full stack", approach, naive, note))
    approach = "the same without building Tracer()"
    rows.append(Row(SECTION, "naive full stack", approach, untraced, note))
    return rows, targets
