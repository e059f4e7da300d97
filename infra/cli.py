"""The `profilepics` command: run the local stack, invoke a function, and operator chores."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from profilepics.config import LocalSettings, Settings

from infra import local


def _up(args: argparse.Namespace) -> int:
    from infra.runner import run_local_stack

    return run_local_stack(Settings(), LocalSettings(), ready_file=args.ready_file)


def _serve(args: argparse.Namespace) -> int:
    from infra.runner import serve_only

    return serve_only(Settings(), LocalSettings(), args.host, args.port)


def _bootstrap(_: argparse.Namespace) -> int:
    from infra.bootstrap import ensure_bucket, ensure_table
    from infra.invoker.template import load

    settings = Settings()
    made_bucket = ensure_bucket(settings)
    made_table = ensure_table(settings, load(local.template_path()))
    print(f"bucket {settings.bucket}: {'created' if made_bucket else 'exists'}")
    print(f"table {settings.table}: {'created' if made_table else 'exists'}")
    return 0


def _invoke(args: argparse.Namespace) -> int:
    from infra.runner import invoke_function

    event: dict[str, Any] = json.loads(Path(args.event).read_text())
    result = invoke_function(Settings(), LocalSettings(), args.function, event)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _token(args: argparse.Namespace) -> int:
    from infra.invoker.jwt_auth import issue

    cfg, settings = LocalSettings(), Settings()
    secret = local.jwt_secret(cfg, local.data_dir(cfg))
    scope = settings.admin_scope if args.admin else None
    print(issue(secret, cfg.jwt_issuer, cfg.jwt_audience, args.user_id, scope, args.ttl))
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
