"""The files SeaweedFS reads at start: S3 identities, security.toml and notification.toml."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from profilepics import keys

from infra.stack.files import private_dir, write_file


@dataclass(frozen=True)
class WebhookConfig:
    """Where the filer POSTs its metadata events (SeaweedFS's own JSON, not S3 event records)."""

    url: str
    bearer_token: str | None = field(default=None, repr=False)
    # Every key the filer reports starts with "/buckets/<bucket>/" for S3 objects; the rest is
    # SeaweedFS's own bookkeeping.
    path_prefixes: tuple[str, ...] = ("/buckets/",)


@dataclass(frozen=True)
class Identity:
    """One S3 identity of SeaweedFS's -s3.config: keys and the actions they may take."""

    name: str
    access_key: str
    secret_key: str = field(repr=False)
    actions: tuple[str, ...]


def admin_identity(access_key: str, secret_key: str) -> Identity:
    """Every right: held by the stack's bootstrap only (bucket, bucket policy), never the app."""
    return Identity("admin", access_key, secret_key, ("Admin",))


def app_identity(
    access_key: str,
    secret_key: str,
    bucket: str,
    prefixes: Sequence[str] = keys.PREFIXES,
    listed: Sequence[str] = keys.PICTURES,
) -> Identity:
    """What the functions need on their bucket and nothing else (SeaweedFS 4.48, measured):

    - `Read:<bucket>/<prefix>*` and `List:<bucket>/<prefix>*` are enforced per prefix: a GET,
      HEAD or presigned GET outside them, a listing of the whole bucket, and any other bucket
      are refused.
    - `Write` has to be the whole bucket's: a POST policy's signer must hold `Write:<bucket>`
      (the form's key is checked after the signer), and a direct upload is such a POST. The
      bucket's policy (infra/bootstrap.py) then denies writes outside the prefixes and the
      bucket settings that `Write:<bucket>` would allow (lifecycle, versioning, CORS).
    - Creating or deleting buckets and changing a bucket's policy need `Admin`.
    """
    actions = (
        *(f"List:{bucket}/{prefix}*" for prefix in listed),
        *(f"Read:{bucket}/{prefix}*" for prefix in prefixes),
        f"Write:{bucket}",
    )
    return Identity("app", access_key, secret_key, actions)


def identities_json(identities: Sequence[Identity]) -> str:
    """The -s3.config file: these identities; anonymous gets nothing."""
    listed = [
        {
            "name": identity.name,
            "credentials": [{"accessKey": identity.access_key, "secretKey": identity.secret_key}],
            "actions": list(identity.actions),
        }
        for identity in identities
    ]
    return json.dumps({"identities": listed}, indent=2) + "\n"


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


IDENTITIES_FILE = "s3-identities.json"


def write_config_dir(
    conf_dir: Path, identities: Sequence[Identity], webhook: WebhookConfig | None
) -> Path:
    """(Re)write every config file for this start; returns the -s3.config path."""
    private_dir(conf_dir)
    path = conf_dir / IDENTITIES_FILE
    write_file(path, identities_json(identities))
    write_file(conf_dir / "security.toml", security_toml())
    notification = conf_dir / "notification.toml"
    if webhook is None:
        notification.unlink(missing_ok=True)
    else:
        write_file(notification, notification_toml(webhook))
    return path


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(value)


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"
