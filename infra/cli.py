"""The `profilepics` command: run the local stack, invoke a function, and operator chores."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from profilepics.config import Settings
from profilepics.errors import ProblemError
from profilepics.sweep import DEFAULT_GRACE
from pydantic import ValidationError

from infra import local
from infra.local import LocalSettings
from infra.preflight import CliError, require_answering, require_local_stack

STACK_VARIABLES = """environment:
  PROFILEPICS_DATA_DIR       where the stack keeps its data, keys and logs (.local)
  PROFILEPICS_API_PORT       the API, the page and Swagger UI (3000)
  PROFILEPICS_S3_PORT        the store's S3 API; SeaweedFS also takes the 8 ports above it
                             and this + 10004 (8333)
  PROFILEPICS_DYNAMODB_PORT  the table (4567)"""
UP_VARIABLES = f"""{STACK_VARIABLES}
  PROFILEPICS_TLS            true: the store over HTTPS with a CA made in the data dir
  PROFILEPICS_INSTANCES      worker processes per function (2)
  PROFILEPICS_JWT_SECRET     the bearer tokens' HS256 secret (default: made once, kept in the
                             data dir's secrets.json)
  PROFILEPICS_EVENTS_TOKEN   the bearer the store's bucket events carry (default: new per start)
Every service setting (limits, sizes, formats) is a PROFILEPICS_* variable too: see README."""
SERVE_VARIABLES = """environment (required):
  PROFILEPICS_JWT_SECRET     the HS256 secret bearer tokens are checked with
  PROFILEPICS_EVENTS_TOKEN   the bearer the store's bucket events must carry
environment (where the store and table are):
  PROFILEPICS_S3_ENDPOINT, PROFILEPICS_S3_ACCESS_KEY, PROFILEPICS_S3_SECRET_KEY,
  PROFILEPICS_PUBLIC_S3_ENDPOINT, PROFILEPICS_DYNAMODB_ENDPOINT, PROFILEPICS_BUCKET,
  PROFILEPICS_TABLE; see README's Configuration."""
EXTERNAL_VARIABLES = """environment:
  PROFILEPICS_S3_ENDPOINT, PROFILEPICS_S3_ACCESS_KEY, PROFILEPICS_S3_SECRET_KEY,
  PROFILEPICS_DYNAMODB_ENDPOINT, PROFILEPICS_BUCKET, PROFILEPICS_TABLE"""


def _version() -> str:
    try:
        return version("profilepics")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


PROGRESS_SECONDS = 5.0  # a sweep's progress line on stderr at most this often


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
    require_answering(
        {"the store": settings.s3_endpoint, "the table": settings.dynamodb_endpoint},
        "start it, or set PROFILEPICS_S3_ENDPOINT / PROFILEPICS_DYNAMODB_ENDPOINT to where it "
        "runs (`profilepics up` creates the bucket and the table itself)",
    )
    if not args.table_only:
        made_bucket = ensure_bucket(settings)
        print(f"bucket {settings.bucket}: {'created' if made_bucket else 'exists'}")
    made_table = ensure_table(settings, load(local.template_path()))
    print(f"table {settings.table}: {'created' if made_table else 'exists'}")
    return 0


def _read_event(path: Path) -> dict[str, Any]:
    try:
        event = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"no event file {path} (try one of tests/events/*.json)", 2) from None
    except OSError as exc:
        raise CliError(f"cannot read the event file {path}: {exc.strerror}", 2) from None
    except ValueError as exc:
        raise CliError(f"the event file {path} is not JSON: {exc}", 2) from None
    if not isinstance(event, dict):
        raise CliError(f"the event file {path} must hold a JSON object", 2)
    return event


def _invoke(args: argparse.Namespace) -> int:
    from infra.invoker.template import load
    from infra.runner import invoke_function

    event = _read_event(Path(args.event))
    functions = load(local.template_path()).functions
    if args.function not in functions:
        raise CliError(f"no function {args.function!r}; try one of: {', '.join(functions)}", 2)
    settings = local.stack_settings(Settings(), LocalSettings())
    require_local_stack(settings.s3_endpoint, settings.dynamodb_endpoint)
    # The function's own log lines go to stderr, so stdout holds just the response.
    with contextlib.redirect_stdout(sys.stderr):
        result = invoke_function(Settings(), LocalSettings(), args.function, event)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _token(args: argparse.Namespace) -> int:
    from infra.invoker.jwt_auth import issue
    from infra.ports import port_accepts

    cfg, settings = LocalSettings(), Settings()
    secret = local.jwt_secret(cfg)
    scope = settings.admin_scope if args.admin else None
    print(issue(secret, cfg.jwt_issuer, cfg.jwt_audience, args.user_id, scope, args.ttl))
    if not port_accepts(cfg.host, cfg.api_port):
        source = (
            "PROFILEPICS_JWT_SECRET"
            if cfg.jwt_secret is not None
            else f"the secret kept in {local.data_dir(cfg) / 'secrets.json'}"
        )
        print(
            f"note: no stack answers on {cfg.host}:{cfg.api_port}; this token is signed with "
            f"{source}, which a stack started with this data dir will accept.",
            file=sys.stderr,
        )
    return 0


def _add_local(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--local", action="store_true", help="the embedded local stack (`profilepics up`)"
    )


def _answering_target(use_local: bool) -> tuple[Settings, str]:
    """The settings of the store and table a maintenance command works on (the embedded
    stack's with --local), once both answer; and the hint its errors end with."""
    settings = Settings()
    hint = "" if use_local else " (for the embedded local stack, add --local)"
    if use_local:
        settings = local.stack_settings(settings, LocalSettings())
        require_local_stack(settings.s3_endpoint, settings.dynamodb_endpoint)
    else:
        require_answering(
            {"the store": settings.s3_endpoint, "the table": settings.dynamodb_endpoint},
            "start it, or set PROFILEPICS_S3_ENDPOINT / PROFILEPICS_DYNAMODB_ENDPOINT" + hint,
        )
    return settings, hint


def _sweep(args: argparse.Namespace) -> int:
    from profilepics.sweep import every

    from infra.runner import heal_stuck, sweep_orphans

    if args.grace_seconds < 0 or (args.max_seconds is not None and args.max_seconds < 0):
        raise CliError("--grace-seconds and --max-seconds must not be negative", 2)
    settings, hint = _answering_target(args.local)
    try:
        healed = heal_stuck(settings, args.dry_run)
        if args.dry_run:
            print("\n".join(f"would re-drive {key}" for key in healed.keys))
        report = sweep_orphans(
            settings,
            timedelta(seconds=args.grace_seconds),
            args.dry_run,
            max_seconds=args.max_seconds,
            restart=args.restart,
            progress=every(PROGRESS_SECONDS, lambda line: print(line, file=sys.stderr)),
            on_orphan=(lambda key: print(f"would delete {key}")) if args.dry_run else None,
        )
    except ProblemError as exc:
        raise CliError(f"sweep stopped: {exc.detail} ({exc.code}){hint}") from None
    print("\n".join([*healed.lines(done=not args.dry_run), *report.lines()]))
    return 0


def _regenerate(args: argparse.Namespace) -> int:
    from profilepics.deps import build

    from infra.progress import Progress

    settings, hint = _answering_target(args.local)
    regenerator = build(settings).regenerator
    try:
        progress = Progress(regenerator.count(), "pictures")
        report = regenerator.run(dry_run=args.dry_run, progress=progress.step)
    except ProblemError as exc:
        raise CliError(
            f"regenerate stopped: {exc.detail} ({exc.code}); run it again to resume{hint}"
        ) from None
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
    require_local_stack(settings.s3_endpoint, settings.dynamodb_endpoint)
    return run_demo(settings, args.user_id, args.file, print)


def _command(
    commands: Any, name: str, summary: str, description: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profilepics",
        description=__doc__,
        epilog="`profilepics COMMAND --help` says what a command does and what changes it.",
    )
    parser.add_argument("--version", action="version", version=f"profilepics {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = _command(
        commands,
        "up",
        "run the embedded local stack in the foreground",
        "Start SeaweedFS (S3) and dynalite (DynamoDB) on 127.0.0.1, create the bucket and the "
        "table, and serve every route of template.yaml, the try-it page and Swagger UI. "
        "Ctrl-C stops it all; the data stays in the data dir.",
        UP_VARIABLES,
    )
    up.add_argument("--ready-file", type=Path, help="write the stack's endpoints here once ready")
    up.set_defaults(run=_up)

    serve = _command(
        commands,
        "serve",
        "serve the routes against an external store and table",
        "Serve every route of template.yaml against a store and table run elsewhere (Docker "
        "Compose, AWS). Needs PROFILEPICS_JWT_SECRET to check bearer tokens and "
        "PROFILEPICS_EVENTS_TOKEN, the bearer the store's bucket events carry.",
        SERVE_VARIABLES,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (3000)")
    serve.set_defaults(run=_serve)

    boot = _command(
        commands,
        "bootstrap",
        "create the bucket and the table if missing",
        "Create the private bucket and the profile table (its key schema from template.yaml) "
        "where the environment points, unless they exist. `profilepics up` does this itself.",
        EXTERNAL_VARIABLES,
    )
    boot.add_argument(
        "--table-only",
        action="store_true",
        help="leave the bucket to its own setup job (Compose: MinIO's init job with mc)",
    )
    boot.set_defaults(run=_bootstrap)

    invoke = _command(
        commands,
        "invoke",
        "run one function once, like sam local invoke",
        "Run one function once in this process, with its template environment, against the "
        "running local stack (start it with `make run`), and print its result as JSON. "
        "The function's log lines go to stderr.",
        f"example:\n  .venv/bin/profilepics invoke ProfilesFunction --event "
        f"tests/events/get_user.json\n\n{STACK_VARIABLES}",
    )
    invoke.add_argument("function", help="a function's logical id in template.yaml")
    invoke.add_argument(
        "--event", required=True, help="a JSON event file (samples: tests/events/*.json)"
    )
    invoke.set_defaults(run=_invoke)

    token = _command(
        commands,
        "token",
        "print a development bearer token for a user",
        "Print a bearer token (HS256 JWT) the local stack accepts, signed with its secret: "
        "PROFILEPICS_JWT_SECRET, else the one kept in the data dir.",
        "example:\n  TOKEN=$(.venv/bin/profilepics token ada)\n\n"
        "environment:\n  PROFILEPICS_DATA_DIR, PROFILEPICS_JWT_SECRET, PROFILEPICS_ADMIN_SCOPE",
    )
    token.add_argument("user_id", help="the token's subject: the user it may act as")
    token.add_argument(
        "--admin", action="store_true", help="add the admin scope: may act on any user"
    )
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (3600)")
    token.set_defaults(run=_token)

    sweep = _command(
        commands,
        "sweep",
        "re-drive stuck work, then delete objects no profile refers to (orphans)",
        "Re-drive pictures and direct uploads stuck past PROFILEPICS_PROCESSING_DEADLINE_SECONDS, "
        "then delete objects under originals/, thumbnails/ and uploads/ that no profile's "
        "current picture refers to and that are older than a grace period, a page at a time, "
        "with a progress line on stderr; it resumes where the last one stopped (--restart: from "
        "the start).",
        f"{EXTERNAL_VARIABLES}\nWith --local, the embedded stack's own: PROFILEPICS_DATA_DIR "
        "and its ports (see `profilepics up --help`).",
    )
    sweep.add_argument(
        "--grace-seconds",
        type=float,
        default=DEFAULT_GRACE.total_seconds(),
        help="keep objects younger than this, so in-flight uploads survive (900)",
    )
    sweep.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    sweep.add_argument(
        "--max-seconds",
        type=float,
        help="stop after about this long; the next sweep resumes where this one stopped",
    )
    sweep.add_argument(
        "--restart",
        action="store_true",
        help="start from the first object, not where the last sweep stopped",
    )
    _add_local(sweep)
    sweep.set_defaults(run=_sweep)

    regenerate = _command(
        commands,
        "regenerate",
        "make again the variants of pictures made under other settings (sizes, formats, quality)",
        "Re-derive the variants of every picture whose stored set differs from the current "
        "settings (PROFILEPICS_THUMBNAIL_SIZES, _FORMATS, the qualities and the AVIF speed). "
        "Each picture switches to its new set in one conditional write; the objects it replaced "
        "are deleted by the sweep once URLs handed out for them have expired. Pictures already "
        "current are skipped, so running it again resumes where a stopped run left off.",
        f"{EXTERNAL_VARIABLES}\nand the PROFILEPICS_* settings the variants are made under; with "
        "--local, the embedded stack's own: PROFILEPICS_DATA_DIR and its ports.",
    )
    regenerate.add_argument("--dry-run", action="store_true", help="count, write nothing")
    _add_local(regenerate)
    regenerate.set_defaults(run=_regenerate)

    events = _command(
        commands,
        "events",
        "list the bucket events waiting or dead in the spool; redrive them",
        "List the bucket events the invoker spooled in the data dir (waiting for delivery, or "
        "dead after their last attempt), or put dead ones back in the queue with --redrive: the "
        "running invoker, or the next `profilepics up`/`serve` on this data dir, delivers them.",
        "environment:\n  PROFILEPICS_DATA_DIR       the data dir whose spool (events.sqlite3) "
        "is read (.local)",
    )
    events.add_argument("--redrive", action="store_true", help="send dead events again")
    events.add_argument("ids", nargs="*", type=int, help="only these dead events (with --redrive)")
    events.add_argument("--json", action="store_true", help="print the list as JSON")
    events.set_defaults(run=_events)

    redrive = _command(
        commands,
        "redrive",
        "invoke again the bucket events that failed every attempt (AWS)",
        "On AWS, bucket events that failed every retry wait in the stack's SQS queue: invoke "
        "each one's function again with its original event, asynchronously (a run that fails "
        "again lands back in the queue).",
        "environment:\n  AWS_PROFILE, AWS_REGION (or AWS_DEFAULT_REGION): the account and "
        "region the stack runs in, as for the AWS CLI",
    )
    redrive.add_argument(
        "--queue-url", required=True, help="the stack's FailedEventsQueueUrl output"
    )
    redrive.add_argument("--max", type=int, default=1000, help="redrive at most this many")
    redrive.add_argument("--dry-run", action="store_true", help="list, invoke nothing")
    redrive.set_defaults(run=_redrive)

    demo = _command(
        commands,
        "demo",
        "seed the local stack: a demo user, a sample upload, its signed URL",
        "Upload a picture for a demo user through the service's own checks, on the running "
        "local stack (start it with `make run`), and print its presigned URL.",
        STACK_VARIABLES,
    )
    demo.add_argument("--user-id", default="demo", help="the demo user, made if missing (demo)")
    demo.add_argument("--file", type=Path, help="an image to upload instead of the sample")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130  # Ctrl-C: the user knows; no traceback
    except CliError as exc:
        print(f"profilepics {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        # Settings read from PROFILEPICS_* variables: say which one and why, never its value.
        problems = "; ".join(
            f"PROFILEPICS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"]
            for e in exc.errors()
        )
        print(f"profilepics {args.command}: invalid setting: {problems}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
