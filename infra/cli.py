"""The `profilepics` command: run the local stack, invoke a function, and operator chores."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from profilepics.config import Settings
from profilepics.sweep import DEFAULT_GRACE

from infra import local
from infra.local import LocalSettings


def _up(args: argparse.Namespace) -> int:
    from infra.runner import run_local_stack

    return run_local_stack(Settings(), LocalSettings(), ready_file=args.ready_file)


def _serve(args: argparse.Namespace) -> int:
    from infra.runner import serve_only

    return serve_only(Settings(), LocalSettings(), args.host, args.port)


def _bootstrap(args: argparse.Namespace) -> int:
    from infra.bootstrap import ensure_bucket, ensure_table
    from infra.invoker.template import load

    settings = Settings()
    if not args.table_only:
        made_bucket = ensure_bucket(settings)
        print(f"bucket {settings.bucket}: {'created' if made_bucket else 'exists'}")
    made_table = ensure_table(settings, load(local.template_path()))
    print(f"table {settings.table}: {'created' if made_table else 'exists'}")
    return 0


def _invoke(args: argparse.Namespace) -> int:
    from infra.runner import invoke_function

    event: dict[str, Any] = json.loads(Path(args.event).read_text())
    # The function's own log lines go to stderr, so stdout holds just the response.
    with contextlib.redirect_stdout(sys.stderr):
        result = invoke_function(Settings(), LocalSettings(), args.function, event)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _token(args: argparse.Namespace) -> int:
    from infra.invoker.jwt_auth import issue

    cfg, settings = LocalSettings(), Settings()
    secret = local.jwt_secret(cfg)
    scope = settings.admin_scope if args.admin else None
    print(issue(secret, cfg.jwt_issuer, cfg.jwt_audience, args.user_id, scope, args.ttl))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from profilepics.errors import ProblemError

    from infra.runner import sweep_orphans

    if args.grace_seconds < 0:
        print("--grace-seconds must not be negative", file=sys.stderr)
        return 2
    settings = Settings()
    if args.local:
        settings = local.stack_settings(settings, LocalSettings())
    try:
        healed, report = sweep_orphans(
            settings, timedelta(seconds=args.grace_seconds), args.dry_run
        )
    except ProblemError as exc:
        print(f"sweep stopped: {exc.detail} ({exc.code})", file=sys.stderr)
        return 1
    if args.dry_run:
        print("\n".join(f"would re-drive {key}" for key in healed.keys))
        print("\n".join(f"would delete {key}" for key in report.deleted_keys))
    print("\n".join([*healed.lines(done=not args.dry_run), *report.lines()]))
    return 0


def _regenerate(args: argparse.Namespace) -> int:
    from profilepics.deps import build
    from profilepics.errors import ProblemError

    from infra.progress import Progress

    settings = Settings()
    if args.local:
        settings = local.stack_settings(settings, LocalSettings())
    regenerator = build(settings).regenerator
    try:
        progress = Progress(regenerator.count(), "pictures")
        report = regenerator.run(dry_run=args.dry_run, progress=progress.step)
    except ProblemError as exc:
        print(
            f"regenerate stopped: {exc.detail} ({exc.code}); run it again to resume",
            file=sys.stderr,
        )
        return 1
    progress.close()
    print("\n".join(report.lines()))
    return 1 if report.errors else 0


def _events(args: argparse.Namespace) -> int:
    from infra.invoker.spool import DEAD, SPOOL_FILE, Spool

    if args.ids and not args.redrive:
        print("event ids go with --redrive", file=sys.stderr)
        return 2
    cfg = LocalSettings()
    path = local.data_dir(cfg) / SPOOL_FILE
    if not path.exists():
        print(f"no events spooled in {path.parent}")
        return 0
    spool = Spool(path)
    try:
        if args.redrive:
            count = spool.redrive(args.ids or None)
            print(
                f"{count} dead event(s) back in the queue: the running invoker (or the next "
                "`profilepics up`/`serve` on this data dir) delivers them"
            )
            return 0
        entries = spool.entries()
    finally:
        spool.close()
    if args.json:
        print(json.dumps([_event_row(e) for e in entries], indent=2))
        return 0
    for entry in entries:
        row = _event_row(entry)
        print(" ".join(f"{k}={v}" for k, v in row.items() if v is not None))
    dead = sum(e.state == DEAD for e in entries)
    print(
        f"{len(entries) - dead} waiting, {dead} dead"
        + (" (--redrive replays them)" if dead else "")
    )
    return 0


def _event_row(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "state": entry.state,
        "function": entry.function,
        "key": entry.key,
        "attempts": entry.attempts,
        "error": entry.error,
        "received": datetime.fromtimestamp(entry.received, UTC).isoformat(timespec="seconds"),
    }


def _redrive(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.redrive import lambda_invoker, redrive

    try:
        invoke = lambda_invoker(boto3.client("lambda"))
        report = redrive(boto3.client("sqs"), invoke, args.queue_url, args.max, args.dry_run)
    except (BotoCoreError, ClientError) as exc:
        print(f"redrive stopped: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines(args.dry_run)))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from infra.demo import run_demo

    settings = local.stack_settings(Settings(), LocalSettings())
    return run_demo(settings, args.user_id, args.file, print)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="profilepics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the embedded local stack in the foreground")
    up.add_argument("--ready-file", type=Path, help="write the stack's endpoints here once ready")
    up.set_defaults(run=_up)

    serve = commands.add_parser("serve", help="serve the routes against an external store/table")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=_serve)

    boot = commands.add_parser("bootstrap", help="create the bucket and the table if missing")
    boot.add_argument(
        "--table-only",
        action="store_true",
        help="leave the bucket to its own setup job (Compose: MinIO's init job with mc)",
    )
    boot.set_defaults(run=_bootstrap)

    invoke = commands.add_parser("invoke", help="run one function once, like sam local invoke")
    invoke.add_argument("function", help="a function's logical id in template.yaml")
    invoke.add_argument("--event", required=True, help="a JSON event file")
    invoke.set_defaults(run=_invoke)

    token = commands.add_parser("token", help="print a development bearer token for a user")
    token.add_argument("user_id")
    token.add_argument("--admin", action="store_true", help="may act on any user")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.set_defaults(run=_token)

    sweep = commands.add_parser(
        "sweep", help="delete stored objects that no profile refers to (orphans)"
    )
    sweep.add_argument(
        "--grace-seconds",
        type=float,
        default=DEFAULT_GRACE.total_seconds(),
        help="keep objects younger than this, so in-flight uploads survive (default 900)",
    )
    sweep.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    sweep.add_argument(
        "--local", action="store_true", help="the embedded local stack (`profilepics up`)"
    )
    sweep.set_defaults(run=_sweep)

    regenerate = commands.add_parser(
        "regenerate",
        help="make the variants of every picture made under other settings (sizes, formats, "
        "quality) again; pictures already current are skipped, so running it again resumes",
    )
    regenerate.add_argument("--dry-run", action="store_true", help="count, write nothing")
    regenerate.add_argument(
        "--local", action="store_true", help="the embedded local stack (`profilepics up`)"
    )
    regenerate.set_defaults(run=_regenerate)

    events = commands.add_parser(
        "events", help="list bucket events waiting or dead in the data dir's spool; redrive them"
    )
    events.add_argument("--redrive", action="store_true", help="send dead events again")
    events.add_argument("ids", nargs="*", type=int, help="only these dead events (with --redrive)")
    events.add_argument("--json", action="store_true", help="print the list as JSON")
    events.set_defaults(run=_events)
    redrive = commands.add_parser(
        "redrive", help="invoke again the bucket events that failed every attempt (AWS)"
    )
    redrive.add_argument(
        "--queue-url", required=True, help="the stack's FailedEventsQueueUrl output"
    )
    redrive.add_argument("--max", type=int, default=1000, help="redrive at most this many")
    redrive.add_argument("--dry-run", action="store_true", help="list, invoke nothing")
    redrive.set_defaults(run=_redrive)

    demo = commands.add_parser(
        "demo", help="seed the local stack: bucket, a demo user, a sample upload, its signed URL"
    )
    demo.add_argument("--user-id", default="demo", help="the demo user (created if missing)")
    demo.add_argument("--file", type=Path, help="an image to upload instead of the sample")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
