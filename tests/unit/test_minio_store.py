"""The MinIO adapter's error translation, offline: which failures are the store's, which ours."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from profilepics.adapters.minio_store import MinioStore
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
