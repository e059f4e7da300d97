"""`python -m bench.first_run`: a fresh clone of HEAD to a healthy local stack, cold caches.

Each round clones the repository's HEAD into a temporary folder and times `make run` there,
with empty uv and npm caches and pip's cache off, until GET /health answers 200; then it
stops the stack with Ctrl-C (SIGINT) as a person would. Beside it, in alternating rounds, the
two installers on the same job: `pip install -e '.[local]'` and `uv pip install -e '.[local]'`
into fresh venvs, both with cold caches. Medians are reported; nothing is written to the docs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from infra.stack import free_port, reaped
from infra.stack.stack import free_stack_ports

REPO = Path(__file__).resolve().parent.parent
HEALTHY_WITHIN = 600.0
STEP_LINE = re.compile(r"^==> (?P<what>.+)\n    done in (?P<seconds>[\d.]+) s$", re.M)


def _clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(into)], check=True)
    return into


def _cold_env(scratch: Path) -> dict[str, str]:
    s3_port, dynamodb_port = free_stack_ports()
    return {
        **os.environ,
        "UV_CACHE_DIR": str(scratch / "uv-cache"),
        "npm_config_cache": str(scratch / "npm-cache"),
        "PIP_NO_CACHE_DIR": "1",
        "PROFILEPICS_API_PORT": str(free_port()),
        "PROFILEPICS_S3_PORT": str(s3_port),
        "PROFILEPICS_DYNAMODB_PORT": str(dynamodb_port),
        "PROFILEPICS_DATA_DIR": str(scratch / "data"),
    }


def _healthy(api: str) -> bool:
    try:
        return requests.get(f"{api}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def make_run(scratch: Path) -> tuple[float, str]:
    """Seconds from `git clone` to a healthy stack under `make run`, and what it printed."""
    began = time.monotonic()
    scratch.mkdir(parents=True)
    clone = _clone(scratch / "clone")
    env = _cold_env(scratch)
    api = f"http://127.0.0.1:{env['PROFILEPICS_API_PORT']}"
    log_path = scratch / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    with reaped(process.pid):  # if this bench is killed, the watchdog ends `make run`
        try:
            while not _healthy(api):
                if process.poll() is not None or time.monotonic() - began > HEALTHY_WITHIN:
                    printed = log_path.read_text()
                    if "is in use" in printed:
                        raise PortTaken(printed[-500:])
                    raise RuntimeError(f"never healthy:\n{printed[-3000:]}")
                time.sleep(0.2)
            elapsed = time.monotonic() - began
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, to the whole foreground group
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                _kill_servers_of(scratch)
    return elapsed, log_path.read_text(errors="replace")


def _kill_servers_of(scratch: Path) -> None:
    """The clone's SeaweedFS and dynalite lead process groups of their own, so a killed `make`
    leaves them: find them by the scratch folder in their command lines (no one else's has it)."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and str(scratch) in argv:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def make_run_on_free_ports(scratch: Path, tries: int = 3) -> tuple[float, str]:
    """make_run, again in a new folder when the ports it picked were taken during the install
    (other test suites on the machine pick ports too); `up` says so and starts nothing."""
    for attempt in range(1, tries + 1):
        try:
            return make_run(scratch / f"try-{attempt}")
        except PortTaken:
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def installer(scratch: Path, which: str) -> float:
    """Seconds to install the service's runtime packages into a fresh venv, cold cache."""
    venv = scratch / f"venv-{which}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "UV_CACHE_DIR": str(scratch / "uv-cache")}
    if which == "uv":
        uv = REPO / ".venv" / "bin" / "uv"
        command = [str(uv), "pip", "install", "-q", "--python", str(python), "-e", ".[local]"]
    else:
        command = [str(python), "-m", "pip", "install", "-q", "-e", ".[local]"]
    began = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_run", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each measurement")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    runs: list[float] = []
    pip: list[float] = []
    uv: list[float] = []
    steps: dict[str, list[float]] = {}
    for round_ in range(args.repeat):
        for name, times in (("pip", pip), ("uv", uv)):
            with tempfile.TemporaryDirectory(
                prefix=f"first-run-{name}-", ignore_cleanup_errors=True
            ) as scratch:
                times.append(installer(Path(scratch), name))
        # A stopped store may still be flushing into its data dir: cleanup need not win.
        with tempfile.TemporaryDirectory(prefix="first-run-", ignore_cleanup_errors=True) as dir_:
            elapsed, output = make_run_on_free_ports(Path(dir_))
        runs.append(elapsed)
        for found in STEP_LINE.finditer(output):
            steps.setdefault(found["what"], []).append(float(found["seconds"]))
        print(f"round {round_ + 1}: healthy in {elapsed:.1f} s", file=sys.stderr, flush=True)
        print(output, file=sys.stderr, flush=True)
    print(f"load average before: {load:.1f} on {os.cpu_count()} cores")
    median = statistics.median(runs)
    print(f"fresh clone -> healthy (make run), median of {len(runs)}: {median:.1f} s")
    print(f"  every round: {', '.join(f'{r:.1f}' for r in runs)} s")
    for what, seconds in steps.items():
        print(f"  step: {what}: median {statistics.median(seconds):.1f} s")
    print(f"pip install -e '.[local]', cold: median {statistics.median(pip):.1f} s")
    print(f"uv pip install -e '.[local]', cold: median {statistics.median(uv):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
