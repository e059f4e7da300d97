"""The MinIO adapter's error translation, offline: which failures are the store's, which ours."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.deleteobjects import DeleteError
from minio.error import S3Error
from profilepics.adapters.minio_store import MinioStore, guard, minio_client
from profilepics.adapters.store_credentials import SecretKeys, provider_for
from profilepics.config import Settings
from profilepics.errors import InternalError, StorageUnavailable

# Nothing listens on port 9 (discard): signing needs no server, any request is refused at once.
OFFLINE = Settings(
    s3_endpoint="http://127.0.0.1:9",
    s3_access_key="unit-access-key",
    s3_secret_key="unit-secret-key-0123456789",
    s3_retries=0,
)
KEY = "originals/ada/0123456789abcdef0123456789abcdef.jpg"


def test_sdk_refusing_our_own_arguments_is_a_logged_500_not_a_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a call the SDK refuses before any I/O (a URL that expires at once): our bug
    store = MinioStore(OFFLINE)

    with caplog.at_level(logging.WARNING), pytest.raises(InternalError) as raised:
        store.presign_get(KEY, 0, datetime.now(UTC))

    assert (raised.value.status, raised.value.code) == (500, "internal_error")
    assert not isinstance(raised.value, StorageUnavailable)
    [record] = caplog.records
    assert record.levelno == logging.ERROR and "ValueError" in record.getMessage()
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_store_that_refuses_connections_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable) as raised:
        MinioStore(OFFLINE).put(KEY, b"x", "image/jpeg", "no-store")

    assert (raised.value.status, raised.value.code) == (503, "storage_unavailable")


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("put", lambda s: s.put(KEY, b"x", "image/jpeg", "no-store")),
        ("get", lambda s: s.get(KEY)),
        ("stat", lambda s: s.exists(KEY)),
        ("delete", lambda s: s.delete([KEY])),
        ("list", lambda s: s.list_keys("originals/")),
        ("list", lambda s: list(s.list_objects("originals/"))),
        ("ping", lambda s: s.ping()),
    ],
)
def test_an_unreachable_store_is_logged_and_answered_by_the_operation_it_failed(
    caplog: pytest.LogCaptureFixture, operation: str, call: Callable[[MinioStore], object]
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(StorageUnavailable) as raised:
        call(MinioStore(OFFLINE))

    assert str(raised.value) == f"The object store did not answer {operation}"
    [record] = caplog.records
    assert record.getMessage() == f"object store unreachable during {operation}: MaxRetryError"


def test_an_sdk_refusal_is_logged_with_the_operation_it_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(InternalError):
        MinioStore(OFFLINE).presign_get(KEY, 0, datetime.now(UTC))

    [record] = caplog.records
    assert record.getMessage() == "object store call presign was refused by the SDK: ValueError"


def pool_settings(client: Minio) -> dict[str, Any]:
    """What the client's connection pool was made with (the SDK keeps it as _http)."""
    http: urllib3.PoolManager = client._http
    return dict(http.connection_pool_kw)


def test_each_store_call_is_bounded_by_the_configured_timeout_and_retries() -> None:
    """A store that accepts but never answers costs (retries + 1) x timeout, not the SDK's
    default minutes; only the server's own 5xx are retried, with a short backoff."""
    settings = Settings(s3_endpoint="http://127.0.0.1:9", s3_timeout_seconds=3.5, s3_retries=4)

    pool = pool_settings(minio_client(settings))

    timeout, retries = pool["timeout"], pool["retries"]
    assert (timeout.connect_timeout, timeout.read_timeout) == (3.5, 3.5)
    assert retries.total == 4 and retries.backoff_factor == 0.1
    assert set(retries.status_forcelist) == {500, 502, 503, 504}
    assert pool["maxsize"] == 16  # concurrent calls of one instance share 16 connections


@pytest.mark.parametrize(
    ("endpoint", "bundle", "cert_reqs", "ca_certs"),
    [
        ("https://s3.example.com", None, "CERT_REQUIRED", None),
        (
            "https://minio.internal:9000",
            Path("/etc/ssl/store-ca.pem"),
            "CERT_REQUIRED",
            "/etc/ssl/store-ca.pem",
        ),
        ("http://127.0.0.1:9000", None, None, None),
    ],
)
def test_https_stores_are_verified_against_the_configured_bundle(
    endpoint: str, bundle: Path | None, cert_reqs: str | None, ca_certs: str | None
) -> None:
    settings = Settings(s3_endpoint=endpoint, s3_ca_bundle=bundle)

    pool = pool_settings(minio_client(settings))

    assert (pool["cert_reqs"], pool["ca_certs"]) == (cert_reqs, ca_certs)


ROTATED = Settings(
    s3_endpoint="http://127.0.0.1:9",
    public_s3_endpoint="https://pictures.example.com",
    s3_credentials_secret="arn:aws:secretsmanager:eu-west-1:123456789012:secret:store-keys",
)


def test_urls_are_signed_for_the_public_endpoint_with_the_clients_own_credentials() -> None:
    """One provider per store: the signer and the client share it, so a rotated secret is
    read once for both."""
    store = MinioStore(ROTATED)

    assert store._signer is not store._client
    assert isinstance(store._client._provider, SecretKeys)
    assert store._signer._provider is store._client._provider


def test_a_store_signing_for_its_own_endpoint_uses_one_client() -> None:
    store = MinioStore(ROTATED.model_copy(update={"public_s3_endpoint": None}))

    assert store._signer is store._client
    assert isinstance(store._client._provider, SecretKeys)


def test_a_client_for_another_endpoint_takes_the_given_credentials() -> None:
    provider = provider_for(ROTATED)

    client = minio_client(ROTATED, "https://pictures.example.com", provider)

    assert client._provider is provider
    own = minio_client(ROTATED)._provider  # else one of its own, as settings say
    assert isinstance(own, SecretKeys) and own is not provider


def test_urls_name_the_public_endpoint_not_the_stores_own() -> None:
    store = MinioStore(OFFLINE.model_copy(update={"public_s3_endpoint": "https://pics.test"}))

    url = store.presign_get(KEY, 600, datetime.now(UTC))

    assert url.startswith(f"https://pics.test/{OFFLINE.bucket}/{KEY}?")


def refusal(code: str) -> S3Error:
    answer = urllib3.HTTPResponse(body=b"", status=403)
    return S3Error(answer, code, "refused", "/bucket/key", "request-1", "host-1")


def raises(error: Exception) -> Callable[..., None]:
    def call(*_: object) -> None:
        raise error

    return call


def test_a_store_refusal_is_logged_by_operation_and_code_and_answered_by_the_operation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(StorageUnavailable) as raised:
        guard("put", raises(refusal("AccessDenied")))

    assert str(raised.value) == "The object store refused put"
    assert (raised.value.status, raised.value.code) == (503, "storage_unavailable")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "object store refused put: AccessDenied"


def test_a_refused_post_policy_is_logged_as_a_presign(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MinioStore(OFFLINE)
    monkeypatch.setattr(store._signer, "presigned_post_policy", raises(ValueError("no")))

    with caplog.at_level(logging.WARNING), pytest.raises(InternalError):
        store.presign_post(KEY, 1024, datetime.now(UTC))

    [record] = caplog.records
    assert record.getMessage() == "object store call presign was refused by the SDK: ValueError"


def test_a_delete_the_store_partly_refuses_is_unavailable_but_missing_keys_are_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MinioStore(OFFLINE)
    answers = {
        "refused": [
            DeleteError("AccessDenied", "no", KEY, None),
            DeleteError("NoSuchKey", "", KEY, None),
        ],
        "missing": [DeleteError("NoSuchKey", "gone", KEY, None)],
    }
    answer: list[DeleteError] = []
    monkeypatch.setattr(store._client, "remove_objects", lambda bucket, objects: iter(answer))

    answer[:] = answers["missing"]
    store.delete([KEY])  # already gone: deleted, as asked
    answer[:] = answers["refused"]
    with pytest.raises(StorageUnavailable) as raised:
        store.delete([KEY, KEY + ".2"])

    assert str(raised.value) == "The object store kept 1 objects"


def test_a_listing_skips_entries_without_a_name_or_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MinioStore(OFFLINE)
    when = datetime(2030, 1, 1, tzinfo=UTC)
    listed = [
        Object("bucket", "originals/ada/a.jpg", when),
        Object("bucket", "originals/ada/b.jpg", None),
        Object("bucket", None, when),
    ]
    monkeypatch.setattr(store._client, "list_objects", lambda *a, **k: iter(listed))

    assert list(store.list_objects("originals/")) == [("originals/ada/a.jpg", when)]
