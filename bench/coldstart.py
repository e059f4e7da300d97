"""Section 4: importing each function's module in a fresh interpreter, .pyc files present,
against a bare interpreter (`python -c pass`, the floor), the same functions as they were before
issue 15 (bench/before.py), and the naive full stack every function would otherwise carry.

Every figure is CPU time (user + system): the import's own, from inside the process, and the
whole bare process's, from its rusage. On a machine shared by other runs the wall time of a
process that waits for a core grows with the load (2-4x at load 5-8 on 2 cores) while its CPU
time barely moves; on an idle machine, such as a Lambda instance's, the two are the same."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

from bench.measure import Row, Sample, Target

SECTION = "4 Cold start"
REPO = Path(__file__).resolve().parent.parent
HEAVY = ("PIL", "boto3", "minio")
MUST_NOT_LOAD_PILLOW = ("get_url", "profiles")
# Issue 15: every function's import within 200 ms, and within 5x a bare interpreter's start.
IMPORT_GOAL_MS = 200
BARE_GOAL = 5
BARE = "pass"
FEWER = 2

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

# What a first request adds: one each HTTP function refuses with a 4xx before any store or
# table call (its validation, or no token for the upload), resolved after the import. Powertools'
# resolver is built and the route's validation runs by then, whether the resolver was made at
# import (before) or on this request (routes.py).
REFUSED = {
    "default_picture": ("GET", "/pictures/default", {"size": "huge"}),
    "get_url": ("GET", "/users/ada/picture", {"redirect": "maybe"}),
    "profiles": ("GET", "/users", {"limit": "0"}),
    "upload": ("PUT", "/users/ada/picture", {"crop": "0,0,64,64"}),
}


def first_request(function: str) -> str:
    """A probe body: import app, then resolve a request it refuses with a 4xx."""
    method, path, query = REFUSED[function]
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "queryStringParameters": query,
        "headers": {"host": "127.0.0.1"},
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    return (
        f"import app\nanswer = app.app.resolve({event!r}, None)\n"
        "assert 400 <= answer['statusCode'] < 500, answer\n"
    )


# What a first bucket or scheduled event adds before any I/O: the settings and the use cases
# (deps.build), and for a bucket event Powertools' S3 event class; the before tree loaded them
# at import. Not the store's and table's SDK clients (~400 ms more), lazy in both trees.
EVENT_SETUP = (
    "import app\nfrom profilepics import deps\nfrom profilepics.config import get_settings\n"
    "deps.build(get_settings(), store=object(), table=object())\n"
)
S3_EVENT = "from aws_lambda_powertools.utilities.data_classes import S3Event\n"
BUCKET_EVENTS = ("ingest", "thumbnails")


def first_call(function: str) -> str:
    """A probe body: import app, then what its first request or event runs before any I/O."""
    if function in REFUSED:
        return first_request(function)
    return EVENT_SETUP + (S3_EVENT if function in BUCKET_EVENTS else "")


_PROBE = """
import json, sys, time
began, cpu = time.perf_counter(), time.process_time()
{body}
cpu, took = time.process_time() - cpu, time.perf_counter() - began
loaded = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"ms": cpu * 1e3, "wall_ms": took * 1e3, "loaded": loaded}}))
"""


def functions(tree: Path = REPO) -> list[str]:
    return sorted(p.parent.name for p in (tree / "functions").glob("*/app.py"))


def _template(tree: Path) -> str:
    return (tree / "template.yaml").read_text(encoding="utf-8")


def _environment(function: str | None, tree: Path = REPO) -> dict[str, str]:
    """As Lambda runs it: the function's folder and the layer on the path, nothing else."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k in keep if (v := os.environ.get(k)) is not None}
    env["AWS_REGION"] = "us-east-1"
    env["AWS_LAMBDA_FUNCTION_NAME"] = function or "naive"
    if function is not None and "PYDANTIC_DISABLE_PLUGINS: __all__" in _template(tree):
        env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # that tree's template.yaml sets it
    if function is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(tree / "functions" / function), str(tree / "layers" / "core")]
        )
    return env


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def bare_ms() -> float:
    """CPU milliseconds a fresh interpreter takes to start, run nothing and exit."""
    before = _children_cpu()
    subprocess.run([sys.executable, "-c", BARE], env=_environment(None), check=True)
    return (_children_cpu() - before) * 1e3


def probe(body: str, function: str | None, tree: Path = REPO) -> tuple[float, list[str]]:
    """CPU milliseconds to run body in a fresh interpreter, and which heavy packages it loaded."""
    if body == BARE:
        return bare_ms(), []
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)],
        env=_environment(function, tree),
        cwd=tree / "functions" / function if function else REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return float(got["ms"]), list(got["loaded"])


Job = tuple[str, str | None, Path]


def measure(
    jobs: dict[str, Job], repeat: int, fewer: Collection[str] = (), warm: Collection[str] = ()
) -> dict[str, tuple[Sample, list[str]]]:
    """Each job's import time, in rounds across the jobs so machine noise falls on all alike;
    the jobs in fewer (comparisons, not goals) run at most FEWER rounds. The jobs in warm (all
    when none are named) run once untimed first, to write the .pyc files of what they import."""
    for name in warm or jobs:
        body, function, tree = jobs[name]
        probe(body, function, tree)
    found: dict[str, list[tuple[float, list[str]]]] = {name: [] for name in jobs}
    for index in range(repeat):
        for name, (body, function, tree) in jobs.items():
            if name not in fewer or index < FEWER:
                found[name].append(probe(body, function, tree))
    return {
        name: (Sample.of([ms for ms, _ in results], "ms"), results[-1][1])
        for name, results in found.items()
    }


def run(repeat: int = 5, before_tree: Path | None = None) -> tuple[list[Row], list[Target]]:
    rows: list[Row] = []
    targets: list[Target] = []
    jobs: dict[str, Job] = {
        "bare": (BARE, None, REPO),
        "naive": (NAIVE, None, REPO),
        "naive_untraced": (NAIVE_UNTRACED, None, REPO),
    }
    jobs.update({function: ("import app", function, REPO) for function in functions()})
    jobs.update({f"first {f}": (first_call(f), f, REPO) for f in functions()})
    if before_tree is not None:
        then = functions(before_tree)
        jobs.update({f"before {f}": ("import app", f, before_tree) for f in then})
        jobs.update({f"before first {f}": (first_call(f), f, before_tree) for f in then})
    comparisons = [name for name in jobs if name.startswith(("before ", "naive", "first "))]
    # A first call imports all that its import does, and the naive stack all of the untraced one.
    warm = ["naive", *(name for name in jobs if name.startswith(("first ", "before first ")))]
    measured = measure(jobs, repeat, comparisons, warm)
    bare = measured["bare"][0]
    naive, naive_loaded = measured["naive"]
    untraced = measured["naive_untraced"][0]
    for function in functions():
        sample, loaded = measured[function]
        share = sample.median / naive.median
        loads = ", ".join(loaded) if loaded else "none"
        strict = sample.median / untraced.median
        times_bare = sample.median / bare.median
        note = (
            f"{times_bare:.1f}× a bare interpreter; {share:.0%} of naive ({strict:.0%} without "
            f"Tracer()); loads {loads} of {', '.join(HEAVY)}"
        )
        if f"before {function}" in measured:
            was = measured[f"before {function}"][0]
            note = f"{sample.median / was.median:.0%} of before; " + note
            rows.append(Row(SECTION, f"functions/{function}", "import app, before (CPU)", was))
        rows.append(Row(SECTION, f"functions/{function}", "import app (CPU)", sample, note))
        rows += _first_request_rows(function, measured)
        within = sample.median <= IMPORT_GOAL_MS and times_bare <= BARE_GOAL
        targets.append(
            Target(
                SECTION,
                f"{function}: import ≤ {IMPORT_GOAL_MS} ms and ≤ {BARE_GOAL}× bare python",
                f"{sample.median:.0f} ms, {times_bare:.1f}× ({bare.median:.0f} ms bare)",
                within,
            )
        )
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
    rows.append(Row(SECTION, "bare interpreter", "python -c pass (whole process, CPU)", bare))
    note = f"loads {', '.join(naive_loaded)}"
    approach = "boto3+minio+PIL+powertools Logger/Tracer()/resolver+pydantic"
    rows.append(Row(SECTION, "naive full stack", approach, naive, note))
    approach = "the same without building Tracer()"
    rows.append(Row(SECTION, "naive full stack", approach, untraced, note))
    return rows, targets


def _first_request_rows(function: str, measured: dict[str, tuple[Sample, list[str]]]) -> list[Row]:
    """Import plus a first (refused) request, or a first event's set-up: what loading on first
    use moves rather than removes shows here."""
    if f"first {function}" not in measured:
        return []
    sample = measured[f"first {function}"][0]
    first = "a first request" if function in REFUSED else "a first event's set-up, no I/O"
    rows: list[Row] = []
    note = ""
    if f"before first {function}" in measured:
        was = measured[f"before first {function}"][0]
        note = f"{sample.median / was.median:.0%} of before"
        rows.append(
            Row(SECTION, f"functions/{function}", f"import app + {first}, before (CPU)", was)
        )
    approach = f"import app + {first} (CPU)"
    rows.append(Row(SECTION, f"functions/{function}", approach, sample, note))
    return rows
