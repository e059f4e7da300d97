"""The store's keys: the role by default, or a Secrets Manager secret read at runtime and cached."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws
from profilepics.config import Settings
from profilepics.credentials import SecretKeys, provider_for, secrets_manager_fetch
from profilepics.errors import StorageUnavailable
from profilepics.storage import MinioStore
from pydantic import ValidationError

SECRET = "profilepics/s3-credentials"
REGION = "eu-west-1"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        client.create_secret(
            Name=SECRET,
            SecretString=json.dumps({"access_key": "MINIOKEYONE", "secret_key": "s3cr3t-one"}),
        )
        yield client


def _settings(**changes: object) -> Settings:
    base: dict[str, object] = {
        "s3_endpoint": "https://minio.example.com:9000",
        "region": REGION,
        "s3_credentials_secret": SECRET,
    }
    return Settings.model_validate(base | changes)


def _signed_by(url: str) -> str:
    return parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].split("/")[0]


def test_the_store_signs_with_the_keys_in_the_secret(secrets: Any) -> None:
    store = MinioStore(_settings())

    url = store.presign_get("originals/ada/x.jpg", 600, datetime.now(UTC))

    assert _signed_by(url) == "MINIOKEYONE"


def test_the_secret_is_read_once_per_instance_then_again_after_max_age(secrets: Any) -> None:
    reads: list[str] = []
    fetch = secrets_manager_fetch(_settings())
    now = [0.0]

    def counting(secret_id: str) -> str:
        reads.append(secret_id)
        return fetch(secret_id)

    keys = SecretKeys(SECRET, counting, max_age_seconds=300, clock=lambda: now[0])
    first = keys.retrieve()
    now[0] = 299
    assert keys.retrieve() is first
    # A rotation: warm instances pick the new keys up once max_age has passed.
    secrets.put_secret_value(
        SecretId=SECRET,
        SecretString=json.dumps({"access_key": "MINIOKEYTWO", "secret_key": "s3cr3t-two"}),
    )
    now[0] = 300
    rotated = keys.retrieve()

    assert reads == [SECRET, SECRET]
    assert (first.access_key, rotated.access_key) == ("MINIOKEYONE", "MINIOKEYTWO")


def test_a_missing_secret_is_a_503_and_logs_only_the_error_code(
    secrets: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = MinioStore(_settings(s3_credentials_secret="profilepics/nope"))

    with caplog.at_level(logging.WARNING), pytest.raises(StorageUnavailable):
        store.presign_get("originals/ada/x.jpg", 600, datetime.now(UTC))

    assert "ResourceNotFoundException" in caplog.text


@pytest.mark.parametrize(
    "text", ["not json", json.dumps({"access_key": "A"}), json.dumps(["s3cr3t-list"])]
)
def test_a_malformed_secret_is_a_503_that_never_logs_the_text(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys = SecretKeys(SECRET, lambda _: text, max_age_seconds=300)

    with caplog.at_level(logging.DEBUG), pytest.raises(StorageUnavailable):
        keys.retrieve()

    assert "s3cr3t" not in caplog.text
    assert text not in caplog.text


def test_without_keys_or_a_secret_the_role_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda hands a function its role's temporary keys in these variables.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAROLEKEYEXAMPLE01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "role-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "role-session-token")
    settings = _settings(s3_credentials_secret=None, s3_endpoint="https://s3.amazonaws.com")

    url = MinioStore(settings).presign_get("originals/ada/x.jpg", 600, datetime.now(UTC))

    assert _signed_by(url) == "ASIAROLEKEYEXAMPLE01"
    assert parse_qs(urlsplit(url).query)["X-Amz-Security-Token"] == ["role-session-token"]


def test_fixed_keys_need_no_provider_and_exclude_a_secret() -> None:
    assert provider_for(_settings(s3_credentials_secret=None, s3_access_key="K")) is None
    with pytest.raises(ValidationError, match="not both"):
        _settings(s3_access_key="K", s3_secret_key="S")
