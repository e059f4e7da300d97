"""The files SeaweedFS reads at start: S3 identities, security.toml and notification.toml."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.stack.files import private_dir, write_file


@dataclass(frozen=True)
class WebhookConfig:
    """Where the filer POSTs its metadata events (SeaweedFS's own JSON, not S3 event records)."""

    url: str
    bearer_token: str | None = field(default=None, repr=False)
    # Every key the filer reports starts with "/buckets/<bucket>/" for S3 objects; the rest is
    # SeaweedFS's own bookkeeping.
    path_prefixes: tuple[str, ...] = ("/buckets/",)


def identities_json(access_key: str, secret_key: str) -> str:
    """The -s3.config file: one identity with full rights; anonymous gets nothing."""
    identity = {
        "name": "profilepics",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    return json.dumps({"identities": [identity]}, indent=2) + "\n"


def security_toml() -> str:
    """JWT keys, fresh per start, so the filer and volume HTTP ports refuse unsigned access.

    Without them anyone on the machine could read or write every object through the filer's
    HTTP port, bypassing S3 authentication entirely.
    """
    sections = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
    return "".join(
        f'[{name}]\nkey = "{secrets.token_urlsafe(32)}"\nexpires_after_seconds = 10\n\n'
        for name in sections
    )


def notification_toml(webhook: WebhookConfig) -> str:
    lines = [
        "[notification.webhook]",
        "enabled = true",
        f"endpoint = {_toml_str(webhook.url)}",
        f"path_prefixes = {_toml_list(webhook.path_prefixes)}",
        "timeout_seconds = 10",
        "max_retries = 3",
        "backoff_seconds = 1",
        "max_backoff_seconds = 10",
    ]
    if webhook.bearer_token:
        lines.append(f"bearer_token = {_toml_str(webhook.bearer_token)}")
    return "\n".join(lines) + "\n"


def write_config_dir(
    conf_dir: Path, access_key: str, secret_key: str, webhook: WebhookConfig | None
) -> Path:
    """(Re)write every config file for this start; returns the -s3.config path."""
    private_dir(conf_dir)
    identities = conf_dir / "s3-identities.json"
    write_file(identities, identities_json(access_key, secret_key))
    write_file(conf_dir / "security.toml", security_toml())
    notification = conf_dir / "notification.toml"
    if webhook is None:
        notification.unlink(missing_ok=True)
    else:
        write_file(notification, notification_toml(webhook))
    return identities


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(value)


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"
