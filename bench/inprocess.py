"""A function's handler called in-process against the local stack, as the invoker's workers
call it: `python -m bench.inprocess` reads {function, route, user, env, info} as JSON on stdin
(and optionally method, query, headers, body_file, content_type, calls) and prints, as the last
line of its output, the first call's and the warm calls' latencies and CPU times (ms) as JSON.
The handler, its core and the local stack's code are whichever PYTHONPATH and the working
directory name (bench/before.py runs an older tree's this way)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

WARM_CALLS = 200


def _setup(config: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    os.environ.update(config["env"])
    from profilepics.config import Settings

    from infra import local
    from infra.invoker import events, template, workers
    from infra.invoker.jwt_auth import Authenticator, issue
    from infra.local import LocalSettings

    settings, cfg = Settings(), LocalSettings()
    directory = local.data_dir(cfg)
    ca = config["info"].get("ca_bundle")
    service = local.local_settings(
        settings, cfg, local.credentials(settings, directory), Path(ca) if ca else None
    )
    found = template.load(local.template_path())
    function = found.functions[config["function"]]
    route = next(
        r
        for r in found.routes
        if r.function == function.name
        and r.path == config["route"]
        and r.method == config.get("method", "GET")
    )
    path = config["route"].replace("{user_id}", config["user"])
    secret = local.jwt_secret(cfg, directory)
    token = issue(secret, cfg.jwt_issuer, cfg.jwt_audience, config["user"], None, 600)
    headers = [("Authorization", f"Bearer {token}"), ("Host", "127.0.0.1")]
    headers += [(name, value) for name, value in config.get("headers", [])]
    auth = Authenticator(secret, cfg.jwt_issuer, cfg.jwt_audience)
    claims = auth({k.lower(): v for k, v in headers}) if route.authorized else None
    method = config.get("method", "GET")
    body = Path(config["body_file"]).read_bytes() if config.get("body_file") else b""
    if body:
        headers.append(("Content-Type", config.get("content_type", "image/jpeg")))
    params = route.match(method, path) or {}
    query = config.get("query", "")
    event = events.http_event(
        route, method, path, query, headers, body, params, "127.0.0.1", claims
    )
    # As a worker process starts: exactly the function's environment, then its module.
    environment = local.environment_for(service)(function)
    os.environ.clear()
    os.environ.update(environment)
    return function, workers, event


def main(config: dict[str, Any]) -> dict[str, Any]:
    function, workers, event = _setup(config)
    heavy = ("boto3", "minio", "PIL")
    if loaded := [name for name in heavy if name in sys.modules]:
        raise RuntimeError(f"{loaded} were imported before the handler")
    began = time.perf_counter()
    handler = workers.load_handler(function)
    imported = time.perf_counter() - began
    timings, cpu = [], []
    for _ in range(int(config.get("calls", WARM_CALLS)) + 1):
        began, used = time.perf_counter(), time.process_time()
        result = workers.invoke_once(function, handler, event)
        cpu.append((time.process_time() - used) * 1e3)
        timings.append((time.perf_counter() - began) * 1e3)
        if result.get("statusCode") not in (200, 201, 302):
            raise RuntimeError(f"the handler answered {result.get('statusCode')}")
    return {
        "import_ms": imported * 1e3,
        "first_ms": timings[0],
        "warm_ms": timings[1:],
        "cpu_ms": cpu[1:],
    }


if __name__ == "__main__":
    print(json.dumps(main(json.load(sys.stdin))))
