"""The store's keys: the role by default, or a Secrets Manager secret read at runtime and cached.

Secrets Manager is boto3's real client with botocore's Stubber in front: each call is checked
against the service's model, and answers what a test queues."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.stub import Stubber
from profilepics.adapters import store_credentials
from profilepics.adapters.minio_store import MinioStore
from profilepics.adapters.store_credentials import SecretKeys, provider_for, secrets_manager_fetch
from profilepics.config import Settings
from profilepics.errors import StorageUnavailable
from pydantic import ValidationError

SECRET = "profilepics/s3-credentials"
REGION = "eu-west-1"
ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{SECRET}-AbCdEf"
KEYS_ONE = {"access_key": "MINIOKEYONE", "secret_key": "s3cr3t-one"}
KEYS_TWO = {"access_key": "MINIOKEYTWO", "secret_key": "s3cr3t-two"}


@pytest.fixture
def secrets() -> Iterator[Stubber]:
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _answer(stubber: Stubber, keys: dict[str, str]) -> None:
    stubber.add_response(
        "get_secret_value",
        {"ARN": ARN, "Name": SECRET, "SecretString": json.dumps(keys)},
        {"SecretId": SECRET},
    )


def _settings(**changes: object) -> Settings:
    base: dict[str, object] = {
        "s3_endpoint": "https://minio.example.com:9000",
        "region": REGION,
        "s3_credentials_secret": SECRET,
    }
    return Settings.model_validate(base | changes)


@pytest.fixture
def stubbed_store(secrets: Stubber, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """MinioStores built in this test read their secret through the stubbed client."""
    monkeypatch.setattr(store_credentials, "secrets_manager_client", lambda _: secrets.client)
    return secrets


def _signed_by(url: str) -> str:
    return parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].split("/")[0]


def test_the_store_signs_with_the_keys_in_the_secret(stubbed_store: Stubber) -> None:
    _answer(stubbed_store, KEYS_ONE)
    store = MinioStore(_settings())

    url = store.presign_get("originals/ada/x.jpg", 600, datetime.now(UTC))

    assert _signed_by(url) == "MINIOKEYONE"


def test_a_store_with_a_public_endpoint_reads_its_secret_once(stubbed_store: Stubber) -> None:
    _answer(stubbed_store, KEYS_ONE)  # one answer queued: a second read fails the test
    # Two clients (API calls to a closed port, URLs signed for the public host), one provider.
    settings = _settings(
        s3_endpoint="https://127.0.0.1:9", public_s3_endpoint="https://pictures.example.com"
    )
    store = MinioStore(settings)

    for _ in range(3):
        url = store.presign_get("originals/ada/x.jpg", 600, datetime.now(UTC))
        assert _signed_by(url) == "MINIOKEYONE"
    # The API client signs (with the same keys) before it finds nobody listening.
    with pytest.raises(StorageUnavailable, match="did not answer"):
        store.exists("originals/ada/x.jpg")


def test_the_secret_is_read_once_per_instance_then_again_after_max_age(secrets: Stubber) -> None:
    _answer(secrets, KEYS_ONE)
    _answer(secrets, KEYS_TWO)  # rotated
    now = [0.0]
    keys = SecretKeys(SECRET, secrets_manager_fetch(secrets.client), 300, clock=lambda: now[0])

    first = keys.retrieve()
    now[0] = 299
    assert keys.retrieve() is first
    now[0] = 300
    rotated = keys.retrieve()

    assert (first.access_key, rotated.access_key) == ("MINIOKEYONE", "MINIOKEYTWO")


def test_a_missing_secret_is_a_503_and_logs_only_the_error_code(
    stubbed_store: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    stubbed_store.add_client_error(
        "get_secret_value",
        service_error_code="ResourceNotFoundException",
        service_message=f"Secrets Manager can't find {SECRET}",
        http_status_code=400,
    )
    store = MinioStore(_settings())

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


def test_the_client_has_the_stores_timeouts() -> None:
    settings = _settings(s3_timeout_seconds=1.5, s3_retries=2)

    client: Any = store_credentials.secrets_manager_client(settings)

    assert client.meta.region_name == REGION
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (1.5, 1.5)
    assert client.meta.config.retries["total_max_attempts"] == 3


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
