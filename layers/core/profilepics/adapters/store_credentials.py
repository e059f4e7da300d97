"""Where the object store's keys come from: fixed keys, a Secrets Manager secret, or the role.

On S3 the function's execution role signs (the SDK reads the role's keys from the environment
Lambda sets). For MinIO, the keys live in a Secrets Manager secret read at runtime: once per
instance, and again after max_age so a rotation reaches warm instances. Resolving the secret
into the function's environment at deploy time instead would show the keys to anyone allowed
lambda:GetFunctionConfiguration, and keep the old ones after a rotation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from minio.credentials.credentials import Credentials
from minio.credentials.providers import ChainedProvider, EnvAWSProvider, IamAwsProvider

from profilepics.config import Settings
from profilepics.errors import StorageUnavailable

log = logging.getLogger(__name__)
Fetch = Callable[[str], str]


class SecretKeys:
    """A minio credentials provider (it only needs `retrieve`) backed by a secret holding
    {"access_key": ..., "secret_key": ...}; StorageUnavailable when it can't be read."""

    def __init__(
        self,
        secret_id: str,
        fetch: Fetch,
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: Credentials | None = None
        self._read_at = 0.0

    def retrieve(self) -> Credentials:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._read_at >= self._max_age:
                self._cached = self._read()
                self._read_at = now
            return self._cached

    def _read(self) -> Credentials:
        try:
            keys = json.loads(self._fetch(self._secret_id))
            return Credentials(str(keys["access_key"]), str(keys["secret_key"]))
        except StorageUnavailable:
            raise
        except (ValueError, KeyError, TypeError):
            # Never the text: it is the secret.
            log.warning("the store's secret is not JSON with access_key and secret_key")
        raise StorageUnavailable("The object store's credentials could not be read")


def secrets_manager_client(settings: Settings) -> Any:
    """A Secrets Manager client with the store's timeouts: a hung service fails like the store."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "secretsmanager",
        region_name=settings.region,
        config=Config(
            connect_timeout=settings.s3_timeout_seconds,
            read_timeout=settings.s3_timeout_seconds,
            retries={"total_max_attempts": settings.s3_retries + 1, "mode": "standard"},
        ),
    )


def secrets_manager_fetch(client: Any) -> Fetch:
    """GetSecretValue's text; SDK errors become StorageUnavailable, by code, never the text."""
    from botocore.exceptions import BotoCoreError, ClientError

    def fetch(secret_id: str) -> str:
        try:
            return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
        except ClientError as exc:
            log.warning("secrets manager refused the store's secret: %s", _code(exc))
        except (BotoCoreError, KeyError) as exc:
            log.warning("secrets manager did not answer: %s", type(exc).__name__)
        raise StorageUnavailable("The object store's credentials could not be read")

    return fetch


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))


def provider_for(settings: Settings) -> Any:
    """The provider for settings, or None when fixed keys are given (the client takes them)."""
    if settings.s3_access_key.get_secret_value():
        return None
    if settings.s3_credentials_secret:
        return SecretKeys(
            settings.s3_credentials_secret,
            secrets_manager_fetch(secrets_manager_client(settings)),
            settings.s3_credentials_max_age_seconds,
        )
    return ChainedProvider([EnvAWSProvider(), IamAwsProvider()])
