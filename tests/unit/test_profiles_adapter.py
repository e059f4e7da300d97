"""The DynamoDB adapter on moto: item mapping, conditional writes, errors translated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from profilepics.adapters.dynamodb_table import DynamoDBTable
from profilepics.config import Settings
from profilepics.errors import (
    BadRequest,
    Conflict,
    TableUnavailable,
    UserExists,
    UserNotFound,
)
from profilepics.models import DirectUpload, Picture, PictureStatus, Profile, UploadState

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TABLE = "profiles-test"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBTable]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoDBTable(Settings(table=TABLE, region="us-east-1", dynamodb_endpoint=None))


def _profile(user_id: str = "ada") -> Profile:
    return Profile(
        user_id=user_id, display_name="Ada", email="ada@example.com", created_at=NOW, updated_at=NOW
    )


def _picture(picture_id: str = "a" * 32) -> Picture:
    return Picture(
        id=picture_id,
        key=f"originals/ada/{picture_id}.jpg",
        format="jpeg",
        content_type="image/jpeg",
        width=10,
        height=8,
        bytes=123,
        uploaded_at=NOW,
    )


def test_created_profile_reads_back_equal(table: DynamoDBTable) -> None:
    table.create(_profile())
    assert table.get("ada") == _profile()
    assert table.get("nobody") is None


def test_creating_a_taken_id_is_user_exists(table: DynamoDBTable) -> None:
    table.create(_profile())
    with pytest.raises(UserExists):
        table.create(_profile())


def test_update_fields_of_a_missing_user_is_user_not_found(table: DynamoDBTable) -> None:
    with pytest.raises(UserNotFound):
        table.update_fields("nobody", {"display_name": "X"}, NOW)
    assert table.get("nobody") is None


def test_update_fields_returns_the_new_profile(table: DynamoDBTable) -> None:
    table.create(_profile())
    updated = table.update_fields("ada", {"display_name": "Countess"}, NOW)
    assert updated.display_name == "Countess"
    assert updated.email == "ada@example.com"


def test_set_picture_needs_the_expected_version(table: DynamoDBTable) -> None:
    table.create(_profile())
    table.set_picture("ada", _picture(), expected_version=0, now=NOW)
    stored = table.get("ada")
    assert stored is not None and stored.version == 1 and stored.picture == _picture()

    with pytest.raises(Conflict):
        table.set_picture("ada", _picture("b" * 32), expected_version=0, now=NOW)

    table.set_picture("ada", None, expected_version=1, now=NOW)
    cleared = table.get("ada")
    assert cleared is not None and cleared.picture is None and cleared.version == 2


def test_update_picture_only_while_it_is_current(table: DynamoDBTable) -> None:
    table.create(_profile())
    table.set_picture("ada", _picture(), expected_version=0, now=NOW)
    ready = _picture().model_copy(
        update={"status": PictureStatus.READY, "variants": {"64": "thumbnails/ada/a/64.webp"}}
    )
    table.update_picture("ada", ready, NOW)
    stored = table.get("ada")
    assert stored is not None and stored.picture == ready

    with pytest.raises(Conflict):
        table.update_picture("ada", _picture("c" * 32), NOW)


def test_direct_upload_finishes_only_while_it_is_the_latest(table: DynamoDBTable) -> None:
    table.create(_profile())
    first = DirectUpload(id="1" * 32, key="uploads/ada/" + "1" * 32, created_at=NOW)
    second = DirectUpload(id="2" * 32, key="uploads/ada/" + "2" * 32, created_at=NOW)
    table.start_upload("ada", first, NOW)
    table.start_upload("ada", second, NOW)

    with pytest.raises(Conflict):
        table.finish_upload("ada", first.model_copy(update={"state": UploadState.DONE}), NOW)
    table.finish_upload("ada", second.model_copy(update={"state": UploadState.FAILED}), NOW)
    stored = table.get("ada")
    assert stored is not None and stored.upload is not None
    assert (stored.upload.id, stored.upload.state) == (second.id, UploadState.FAILED)

    with pytest.raises(UserNotFound):
        table.start_upload("nobody", first, NOW)


def test_scan_pages_with_an_opaque_cursor(table: DynamoDBTable) -> None:
    for n in range(5):
        table.create(_profile(f"user-{n}"))
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = table.scan(2, cursor)
        assert len(page) <= 2
        seen.extend(p.user_id for p in page)
        if cursor is None:
            break
        assert "user_id" not in cursor  # opaque, not a raw key
    assert sorted(seen) == [f"user-{n}" for n in range(5)]


def test_a_cursor_we_did_not_issue_is_bad_request(table: DynamoDBTable) -> None:
    for cursor in ("not-base64!", "eyJ4IjogMX0", "W10"):
        with pytest.raises(BadRequest):
            table.scan(2, cursor)


def test_a_missing_table_is_table_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        missing = DynamoDBTable(Settings(table="no-such-table", region="us-east-1"))
        with pytest.raises(TableUnavailable):
            missing.get("ada")
        with pytest.raises(TableUnavailable):
            missing.ping()
