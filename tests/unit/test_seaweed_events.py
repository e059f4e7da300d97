"""SeaweedFS filer webhook payloads -> S3 ObjectCreated records, as S3 itself would send them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.invoker.events import decoded_key
from infra.invoker.seaweed_events import to_s3_records

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "seaweedfs_webhook_object_created.json"


@pytest.fixture
def created() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(SAMPLE.read_text())
    return payload


def at(payload: dict[str, Any], parent: str, name: str) -> dict[str, Any]:
    moved = copy.deepcopy(payload)
    moved["message"]["new_parent_path"] = parent
    moved["message"]["new_entry"]["name"] = name
    return moved


def test_object_created_becomes_one_s3_record(created: dict[str, Any]) -> None:
    (record,) = to_s3_records(created)

    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == "profilepics"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::profilepics"
    obj = record["s3"]["object"]
    assert obj["key"] == "originals/user-123/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"
    assert obj["size"] == 64
    assert obj["eTag"] == "443d7348fd4e746fb3034d92ec4b543a"  # the md5, hex as S3 gives it
    assert record["eventTime"].endswith("Z")


def test_overwrite_is_also_object_created(created: dict[str, Any]) -> None:
    created["event_type"] = "update"
    created["message"]["old_entry"] = copy.deepcopy(created["message"]["new_entry"])
    assert [r["eventName"] for r in to_s3_records(created)] == ["ObjectCreated:Put"]


def test_key_is_url_encoded_like_s3_and_decodes_back(created: dict[str, Any]) -> None:
    payload = at(created, "/buckets/profilepics/originals/a b", "ça+va.jpg")

    (record,) = to_s3_records(payload)

    assert record["s3"]["object"]["key"] == "originals/a+b/%C3%A7a%2Bva.jpg"
    assert decoded_key(record) == "originals/a b/ça+va.jpg"


@pytest.mark.parametrize("event_type", ["delete", "rename", "", None])
def test_events_other_than_create_give_no_record(
    created: dict[str, Any], event_type: str | None
) -> None:
    created["event_type"] = event_type
    assert to_s3_records(created) == []


def test_directories_and_bookkeeping_give_no_record(created: dict[str, Any]) -> None:
    directory = copy.deepcopy(created)
    directory["message"]["new_entry"]["is_directory"] = True
    cases = [
        directory,
        at(created, "/buckets/profilepics/.uploads/abc", "0001.part"),
        at(created, "/etc/iam", "identity.json"),
        at(created, "/buckets", "profilepics"),
        at(created, "/buckets/profilepics", ""),
    ]
    for payload in cases:
        assert to_s3_records(payload) == [], payload["message"]["new_parent_path"]


@pytest.mark.parametrize("payload", [None, [], "create", {"event_type": "create"}, {}])
def test_malformed_payloads_give_no_record(payload: Any) -> None:
    assert to_s3_records(payload) == []


def test_unreadable_md5_gives_an_empty_etag(created: dict[str, Any]) -> None:
    created["message"]["new_entry"]["attributes"]["md5"] = "not base64!"
    (record,) = to_s3_records(created)
    assert record["s3"]["object"]["eTag"] == ""
