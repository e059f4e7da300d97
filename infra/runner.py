"""Runs things for the CLI: the local stack with its invoker, the invoker alone, one invocation."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profilepics.config import Settings
from profilepics.deps import build
from profilepics.errors import ProblemError
from profilepics.healing import HealPlan
from profilepics.sweep import Progress, SweepReport

from infra import healing, local
from infra.bootstrap import ensure_bucket, ensure_bucket_policy, ensure_table
from infra.invoker.delivery import Ack, RetryPolicy
from infra.invoker.jwt_auth import Authenticator
from infra.invoker.pages import Pages, local_pages, own_hosts
from infra.invoker.server import Invoker, serve
from infra.invoker.spool import Spool
from infra.invoker.template import Template, load
from infra.invoker.workers import invoke_once, load_handler
from infra.local import LocalSettings
from infra.preflight import CliError, check_ports_free

if TYPE_CHECKING:
    from infra.stack import LocalStack, StackConfig


def health_check(settings: Settings) -> Callable[[], dict[str, bool]]:
    parts = build(settings)

    def check() -> dict[str, bool]:
        results = {}
        for name, ping in (("store", parts.store.ping), ("table", parts.table.ping)):
            try:
                ping()
                results[name] = True
            except ProblemError:
                results[name] = False
        return results

    return check


def build_invoker(
    template: Template,
    service: Settings,
    cfg: LocalSettings,
    jwt_secret: str,
    pages: Pages,
    events_token: str | None,
    ack: Ack,
) -> Invoker:
    """The invoker for service's store and table, checking tokens as API Gateway would, with
    its bucket events spooled in the data dir and CORS for the operator's origins."""
    return Invoker(
        local.with_local_cors(template, cfg),
        local.environment_for(service),
        health_check(service),
        cfg.instances,
        authenticate=Authenticator(jwt_secret, cfg.jwt_issuer, cfg.jwt_audience),
        pages=pages,
        events_token=events_token,
        spool=_spool(cfg),
        ack=ack,
        retry=RetryPolicy(cfg.event_attempts, cfg.event_backoff_seconds),
    )


def _spool(cfg: LocalSettings) -> Spool:
    try:
        return Spool.in_dir(local.data_dir(cfg))
    except (OSError, sqlite3.Error) as exc:
        raise CliError(
            f"PROFILEPICS_DATA_DIR={cfg.data_dir} is not a writable directory "
            f"({type(exc).__name__}): bucket events are spooled there"
        ) from None


def _write_ready(
    path: Path, api: str, stack: LocalStack, service: Settings, elapsed: float
) -> None:
    """Where everything listens, for scripts and tests that started the stack."""
    ready = {
        "api": api,
        "s3_endpoint": stack.s3_endpoint,
        "dynamodb_endpoint": stack.dynamodb_endpoint,
        "ca_bundle": str(stack.ca_bundle) if stack.ca_bundle else None,
        "bucket": service.bucket,
        "table": service.table,
        "started_in": elapsed,
        # Fault-injection tests stop one server by its process group.
        "pids": {name: p.pid for name, p in stack.processes.items()},
    }
    # Whole or not at all: a reader polling for the file must never find it half written.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(ready))
    partial.replace(path)


def _stop_on_sigterm(stop: Callable[[], None]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop).start())


def _bootstrap(stack: LocalStack, settings: Settings, cfg: LocalSettings) -> None:
    """The bucket and its policy, by the store's admin identity: its keys live in this process
    (and SeaweedFS's config) only, never in a function's environment."""
    admin = (stack.config.admin_access_key, stack.config.admin_secret_key)
    as_admin = local.local_settings(settings, cfg, admin, stack.ca_bundle)
    ensure_bucket(as_admin)
    ensure_bucket_policy(as_admin)


def _serve_forever(
    invoker: Invoker,
    host: str,
    port: int,
    banner: list[str],
    on_listening: Callable[[], None] | None = None,
) -> None:
    try:
        server = serve(invoker, host, port)
    except OSError as exc:
        invoker.close()
        raise CliError(
            f"cannot listen on {host}:{port} ({exc.strerror}): set PROFILEPICS_API_PORT "
            "(or --port) to a free port"
        ) from None
    _stop_on_sigterm(server.shutdown)
    if on_listening is not None:
        on_listening()  # the socket is bound: connections now queue until serve_forever
    print("\n".join(banner), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        invoker.close()


def _urls(api: str) -> list[str]:
    return [
        f"API                       {api}",
        f"page, Swagger UI          {api}/  {api}/docs",
        "try (from the repo root):",
        f"  curl -s {api}/health",
        "  TOKEN=$(.venv/bin/profilepics token ada)",
        f'  curl -s -X POST {api}/users -H "Authorization: Bearer $TOKEN" '
        "-H 'Content-Type: application/json' "
        '-d \'{"user_id":"ada","display_name":"Ada Lovelace","email":"ada@example.com"}\'',
        f'  curl -s -X PUT {api}/users/ada/picture -H "Authorization: Bearer $TOKEN" '
        "-H 'Content-Type: image/jpeg' --data-binary @photo.jpg",
        f"  curl -s {api}/users/ada",
        "Ctrl-C stops everything.",
    ]


def _stack_config(**values: Any) -> StackConfig:
    from infra.stack import StackConfig

    try:
        return StackConfig(**values)
    except ValueError as exc:  # ports that clash or do not fit: the user's settings
        raise CliError(str(exc), 2) from None


def run_local_stack(settings: Settings, cfg: LocalSettings, ready_file: Path | None = None) -> int:
    from infra.stack import LocalStack, StackError, ensure_installed

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    began = time.monotonic()
    directory = local.data_dir(cfg)
    keys = local.credentials(settings, directory)
    events_token = (
        cfg.events_token.get_secret_value() if cfg.events_token else secrets.token_urlsafe(24)
    )
    api = f"http://{cfg.host}:{cfg.api_port}"
    config = _stack_config(
        data_dir=directory,
        access_key=keys[0],
        secret_key=keys[1],
        bucket=settings.bucket,
        host=cfg.host,
        s3_port=cfg.s3_port,
        dynamodb_port=cfg.dynamodb_port,
        tls=cfg.tls,
        webhook_url=f"{api}/_events/seaweedfs",
        webhook_bearer_token=events_token,
    )
    check_ports_free(cfg.host, cfg.api_port, cfg.s3_port, cfg.dynamodb_port)
    print(f"starting SeaweedFS and dynalite on {cfg.host} (data in {directory}) ...", flush=True)
    stack = LocalStack(config)
    # Started from a shell without job control (a script's `&`, CI), a process inherits SIGINT
    # ignored, and Python then raises no KeyboardInterrupt: Ctrl-C, and SIGTERM below, which
    # goes through it, would do nothing. This command stops on them, whoever started it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _stop_on_sigterm(lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        ensure_installed(local.REPO_ROOT)
        stack.start()
    except StackError as exc:
        raise CliError(f"the local stack did not start: {exc}") from None
    try:
        service = local.local_settings(settings, cfg, keys, stack.ca_bundle)
        template = load(local.template_path())
        _bootstrap(stack, settings, cfg)
        ensure_table(service, template)
        secret = local.jwt_secret(cfg, directory)
        hosts = own_hosts(cfg.host, cfg.api_port)
        pages = local_pages(service, secret, cfg.jwt_issuer, cfg.jwt_audience, hosts)
        invoker = build_invoker(template, service, cfg, secret, pages, events_token, Ack.PERSIST)
        # After a restart nothing is in flight: whatever is stuck is re-driven now.
        heal = healing.through_spool(
            invoker.delivery, healing.healer_for(service), service.bucket, timedelta(0)
        )
        invoker.delivery.start(heal)
        elapsed = time.monotonic() - began
        banner = [
            *stack.describe(),
            f"bucket {service.bucket}, table {service.table}",
            *_urls(api),
            f"stack ready in {elapsed:.1f} s",
        ]
        ready = (
            partial(_write_ready, ready_file, api, stack, service, elapsed) if ready_file else None
        )
        _serve_forever(invoker, cfg.host, cfg.api_port, banner, ready)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping ...", flush=True)
        stack.stop()
    return 0


def serve_only(settings: Settings, cfg: LocalSettings, host: str, port: int) -> int:
    """The invoker alone, against a store and table run elsewhere (Docker Compose, AWS)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if cfg.jwt_secret is None:
        raise CliError("set PROFILEPICS_JWT_SECRET: the invoker verifies bearer tokens with it", 2)
    if cfg.events_token is None:
        raise CliError("set PROFILEPICS_EVENTS_TOKEN: bucket events must carry it", 2)
    template = load(local.template_path())
    events_token = cfg.events_token.get_secret_value()
    secret = cfg.jwt_secret.get_secret_value()
    invoker = build_invoker(
        template, settings, cfg, secret, Pages(settings), events_token, Ack.SUCCESS
    )
    # Other replicas may be working on what looks stuck: only what is past the deadline.
    deadline = timedelta(seconds=settings.processing_deadline_seconds)
    heal = healing.through_spool(
        invoker.delivery, healing.healer_for(settings), settings.bucket, deadline
    )
    invoker.delivery.start(heal)
    _serve_forever(invoker, host, port, [f"serving {len(template.routes)} routes on {host}:{port}"])
    return 0


def invoke_function(
    settings: Settings, cfg: LocalSettings, name: str, event: dict[str, Any]
) -> Any:
    """Run one function once, in this process, with its template environment (no Docker)."""
    template = load(local.template_path())
    if name not in template.functions:
        raise CliError(f"no function {name!r}; try one of: {', '.join(template.functions)}", 2)
    function = template.functions[name]
    os.environ.clear()
    os.environ.update(local.environment_for(local.stack_settings(settings, cfg))(function))
    return invoke_once(function, load_handler(function), event)


def heal_stuck(settings: Settings, dry_run: bool) -> HealPlan:
    """Re-drive what is stuck past the processing deadline (see profilepics.healing)."""
    deadline = timedelta(seconds=settings.processing_deadline_seconds)
    return healing.in_process(settings, deadline, dry_run)


def sweep_orphans(
    settings: Settings,
    grace: timedelta,
    dry_run: bool,
    *,
    max_seconds: float | None = None,
    restart: bool = False,
    progress: Progress | None = None,
    on_orphan: Callable[[str], None] | None = None,
) -> SweepReport:
    """Delete the objects no profile refers to (see profilepics.sweep), from where the last
    sweep stopped unless restart, for at most max_seconds (then the next one resumes)."""
    began = time.monotonic()
    until = None if max_seconds is None else lambda: time.monotonic() - began >= max_seconds
    return build(settings).sweeper.run(
        grace, dry_run, until=until, fresh=restart, progress=progress, on_orphan=on_orphan
    )
