"""Section 8: the Lambda layer as `sam build` makes it: its size, and a cold `get_user`
(interpreter start, import, first call against the local stack over TLS) with the layer's .pyc
files and without them, as Lambda runs it: `python3.12 -I -S -B` with only the function's
folder and the layer on the path, nothing written (Lambda's /opt is read-only)."""

from __future__ import annotations

import io
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import requests

from bench.measure import Row, Sample, Target
from tests import asbuilt
from tests.stackrun import ACCESS_KEY, SECRET_KEY, RunningStack, bearer, start_stack

SECTION = "8 Lambda layer"
USER = "bench-cold"


def _size(root: Path) -> tuple[int, int, int, int]:
    """Files, bytes, bytes of .pyc, and bytes zipped (deflate, as `sam package` zips)."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root.parent))
    total = sum(p.stat().st_size for p in files)
    pyc = sum(p.stat().st_size for p in files if p.suffix == ".pyc")
    return len(files), total, pyc, zipped.tell()


def _without_bytecode(layer: Path, into: Path) -> Path:
    copy = into / "python"
    shutil.copytree(layer, copy, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    return copy


Cold = tuple[float, float, float, float]


def _cold_get_user(layer: Path, stack: RunningStack, logs: Path) -> Cold:
    """From starting the interpreter to the first answer: wall ms, CPU ms, and of the wall
    time, importing the handler and the call."""
    template = asbuilt.built_template()
    function = template.functions["ProfilesFunction"]
    resolver = asbuilt.resolver(
        {
            "S3Endpoint": str(stack.info["s3_endpoint"]),
            "BucketName": stack.bucket,
            "TableName": stack.table,
        }
    )
    env = {
        **resolver.environment(function),
        **asbuilt.lambda_environment(
            function,
            ACCESS_KEY,
            SECRET_KEY,
            str(stack.info["dynamodb_endpoint"]),
            str(stack.info["ca_bundle"]),
        ),
    }
    event = asbuilt.http_event(template, "GET", "/users/{user_id}", {"user_id": USER})
    began = time.perf_counter()
    instance = asbuilt.Instance.start(function, layer, env, logs)
    try:
        imported = instance.wait_ready()
        reply = instance.invoke(event)
        total = (time.perf_counter() - began) * 1e3
    finally:
        instance.close()
    if reply.get("result", {}).get("statusCode") != 200:
        raise RuntimeError(f"get_user failed: {reply}")
    return total, float(reply["cpu_ms"]), imported, float(reply["ms"])


def run(repeat: int = 7) -> tuple[list[Row], list[Target]]:
    built_in = asbuilt.sam_build()
    site = asbuilt.layer_dir()
    files, total, pyc, zipped = _size(site)
    rows = [
        Row(
            SECTION,
            "CoreLayer as built (arm64)",
            "sam build --cached",
            Sample.of([built_in], "s"),
            f"{total / 1e6:.1f} MB in {files} files ({pyc / 1e6:.1f} MB of .pyc), "
            f"{zipped / 1e6:.1f} MB zipped",
        )
    ]
    with tempfile.TemporaryDirectory(prefix="profilepics-bench-layer-") as tmp:
        work = Path(tmp)
        layers = {
            "layer with .pyc (as built)": asbuilt.runnable_layer(site),
            "layer without .pyc": _without_bytecode(asbuilt.runnable_layer(site), work),
        }
        stack = start_stack(work / "stack", {"PROFILEPICS_TLS": "true"})
        try:
            body = {"user_id": USER, "display_name": "Cold Start", "email": "cold@example.com"}
            made = requests.post(f"{stack.api}/users", json=body, headers=bearer(USER), timeout=30)
            if made.status_code != 201:
                raise RuntimeError(f"seeding failed: {made.status_code}")
            found: dict[str, list[Cold]] = {name: [] for name in layers}
            for layer in layers.values():
                _cold_get_user(layer, stack, work)  # untimed: the OS's file cache, both alike
            for _ in range(repeat):
                for name, layer in layers.items():
                    found[name].append(_cold_get_user(layer, stack, work))
        finally:
            stack.stop()
    cpu = {}
    for name, runs in found.items():
        wall = Sample.of([run[0] for run in runs], "ms")
        cpu[name] = Sample.of([run[1] for run in runs], "ms")
        imported = Sample.of([run[2] for run in runs], "ms").median
        called = Sample.of([run[3] for run in runs], "ms").median
        note = f"wall {wall.median:,.0f} ms: import {imported:,.0f} + first call {called:,.0f}"
        rows.append(Row(SECTION, "cold GET /users/{id}, CPU time", name, cpu[name], note))
    with_pyc, without = cpu.values()
    saved = 1 - with_pyc.median / without.median
    targets = [
        Target(
            SECTION,
            "cold get_user: less CPU with the layer's .pyc",
            f"{saved:.0%} less ({without.median:,.0f} → {with_pyc.median:,.0f} ms)",
            with_pyc.median < without.median,
        )
    ]
    return rows, targets


if __name__ == "__main__":
    from bench import report

    got_rows, got_targets = run()
    print(report.as_text(got_rows, got_targets))  # noqa: T201
