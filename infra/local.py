"""Wires the service to the embedded local stack: its own settings, credentials, the service's
settings pointed at it, and each function's environment. Not in the layer: Lambda never runs it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from profilepics.config import Settings
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from infra.invoker.template import Function, Template

REPO_ROOT = Path(__file__).resolve().parent.parent


def template_path() -> Path:
    """PROFILEPICS_TEMPLATE, else template.yaml of the working directory (a container's /app),
    else of this checkout."""
    chosen = LocalSettings().template
    if chosen is not None:
        return chosen
    here = Path.cwd() / "template.yaml"
    return here if here.is_file() else REPO_ROOT / "template.yaml"


class LocalSettings(BaseSettings):
    """How the embedded local stack runs on a laptop or in CI (`profilepics up`)."""

    model_config = SettingsConfigDict(env_prefix="PROFILEPICS_", extra="ignore", frozen=True)

    data_dir: Path = Path(".local")
    # Another SAM template to serve instead of the checkout's (tests run functions of their own).
    template: Path | None = None
    host: str = "127.0.0.1"
    api_port: int = 3000
    s3_port: int = 8333
    dynamodb_port: int = 4567
    tls: bool = False
    instances: int = Field(2, ge=1, le=16)
    # The local invoker checks bearer tokens itself (HS256), as API Gateway's JWT authorizer would.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "profilepics-local"
    jwt_audience: str = "profilepics"
    events_token: SecretStr | None = None
    # Bucket events: attempts before the dead letters, and the pause before the first retry
    # (x4 for each next one: 1, 4, 16 s by default).
    event_attempts: int = Field(4, ge=1, le=20)
    event_backoff_seconds: float = Field(1.0, ge=0, le=3600)
    # The origins the invoker's CORS allows, in place of the template's CorsAllowedOrigins
    # default (the parameter API Gateway is given on AWS): comma-separated, or "*".
    cors_allowed_origins: Annotated[tuple[str, ...] | None, NoDecode] = None

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        origins = tuple(o.strip() for o in value.split(",") if o.strip())
        for origin in origins:
            if origin != "*" and not _is_origin(origin):
                raise ValueError("each origin is scheme://host[:port] with no path, or * for any")
        return origins or None


def _is_origin(text: str) -> bool:
    """Whether text is an origin as browsers send it: a scheme and a host, nothing after."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and f"{parts.scheme}://{parts.netloc}" == text
        and "@" not in parts.netloc
    )


def with_local_cors(template: Template, local: LocalSettings) -> Template:
    """The template with PROFILEPICS_CORS_ALLOWED_ORIGINS in place of its CorsAllowedOrigins
    default, as `sam deploy` would pass the parameter; the rest of its CorsConfiguration stays."""
    if local.cors_allowed_origins is None or template.cors is None:
        return template
    return replace(template, cors=replace(template.cors, origins=local.cors_allowed_origins))


def as_environment(settings: Settings) -> dict[str, str]:
    """The settings as PROFILEPICS_* variables, to hand to a function's process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(str(v) for v in value)
        env[f"PROFILEPICS_{name.upper()}"] = str(value)
    return env


def data_dir(local: LocalSettings) -> Path:
    path = local.data_dir if local.data_dir.is_absolute() else REPO_ROOT / local.data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def kept_secrets(directory: Path) -> dict[str, str]:
    """Secrets made once for this data dir and kept there (0600), so restarts reuse them."""
    path = directory / "secrets.json"
    if not path.exists():
        made = {
            "access_key": "profilepics-" + secrets.token_hex(4),
            "secret_key": secrets.token_urlsafe(30),
            "jwt_secret": secrets.token_urlsafe(32),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(made, out)
    kept: dict[str, str] = json.loads(path.read_text())
    return kept


def credentials(settings: Settings, directory: Path) -> tuple[str, str]:
    """The store's keys: from the environment if given, else the data dir's own."""
    access = settings.s3_access_key.get_secret_value()
    secret = settings.s3_secret_key.get_secret_value()
    if access and secret:
        return access, secret
    kept = kept_secrets(directory)
    return kept["access_key"], kept["secret_key"]


def jwt_secret(cfg: LocalSettings, directory: Path | None = None) -> str:
    """PROFILEPICS_JWT_SECRET when set, and then nothing on disk is read or made (a container's
    app folder is read-only to it); otherwise the secret kept in the data dir."""
    if cfg.jwt_secret is not None:
        return cfg.jwt_secret.get_secret_value()
    return kept_secrets(directory or data_dir(cfg))["jwt_secret"]


def local_settings(
    settings: Settings, local: LocalSettings, keys: tuple[str, str], ca_bundle: Path | None
) -> Settings:
    """The service's settings pointed at the local stack."""
    scheme = "https" if local.tls else "http"
    endpoint = f"{scheme}://{local.host}:{local.s3_port}"
    return Settings.model_validate(
        settings.model_dump()
        | {
            "environment": "development",
            # Read by a person at a terminal, unless PROFILEPICS_LOG_FORMAT says otherwise.
            "log_format": settings.log_format
            if "log_format" in settings.model_fields_set
            else "text",
            "s3_endpoint": endpoint,
            "public_s3_endpoint": settings.public_s3_endpoint or endpoint,
            "s3_access_key": keys[0],
            "s3_secret_key": keys[1],
            "s3_ca_bundle": ca_bundle,
            "dynamodb_endpoint": f"http://{local.host}:{local.dynamodb_port}",
            "dynamodb_access_key": "local",
            "dynamodb_secret_key": "local",
            "api_base_url": f"http://{local.host}:{local.api_port}",
        }
    )


def stack_settings(settings: Settings, local: LocalSettings) -> Settings:
    """Settings for a command run next to `profilepics up`: its keys, ports and CA."""
    directory = data_dir(local)
    ca_bundle = directory / "tls" / "ca.pem" if local.tls else None
    return local_settings(settings, local, credentials(settings, directory), ca_bundle)


_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE")


def environment_for(settings: Settings) -> Callable[[Function], dict[str, str]]:
    """Each function's environment: the template's literal values, then the local settings."""
    # Process plumbing a worker needs to run at all (PATH, locale), not configuration:
    # every setting reaches the functions through `as_environment(settings)`.
    base = {k: v for k in _INHERITED if (v := os.environ.get(k)) is not None}
    service = as_environment(settings)
    aws = {
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,
    }

    def environment(function: Function) -> dict[str, str]:
        literal = _literals(function.environment)
        return {**base, **literal, **aws, **service, "AWS_LAMBDA_FUNCTION_NAME": function.name}

    return environment


def _literals(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if isinstance(v, str | int | float | bool)}
