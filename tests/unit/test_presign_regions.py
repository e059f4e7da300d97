"""Presigned URLs outside us-east-1: the host is the region's own, and agrees with the signature's
credential scope (S3 refuses a global-endpoint POST signed for another region)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from profilepics.adapters.minio_store import MinioStore
from profilepics.config import Settings

KEY = "originals/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b.jpg"
UPLOAD = "uploads/ada/0b7c6a4e9f2d4c1e8a3b5d7f9e1c2a4b"
_AWS_HOST = re.compile(
    r"^(?:(?P<bucket>[^.]+)\.)?s3\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$"
)


def _store(endpoint: str, region: str, bucket: str) -> MinioStore:
    return MinioStore(
        Settings(
            s3_endpoint=endpoint,
            region=region,
            bucket=bucket,
            s3_access_key="AKIAEXAMPLEEXAMPLE12",
            s3_secret_key="example-secret",
        )
    )


def _scope_region(credential: str) -> str:
    # <key>/<date>/<region>/s3/aws4_request
    return credential.split("/")[2]


def _host_region(url: str, bucket: str) -> str:
    parts = urlsplit(url)
    found = _AWS_HOST.match(parts.hostname or "")
    assert found, f"{url} is not a regional S3 URL"
    # Virtual-hosted (bucket in the host) or regional path-style (bucket first in the path).
    assert found["bucket"] == bucket or parts.path.split("/")[1] == bucket, url
    return found["region"]


CASES = [
    ("https://s3.amazonaws.com", "eu-west-1", "profilepics-123-eu-west-1"),
    ("https://s3.amazonaws.com", "ap-southeast-2", "pictures.example.com"),  # dots: path-style
    ("https://s3.eu-west-1.amazonaws.com", "eu-west-1", "profilepics"),
    ("https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1", "profilepics"),
    # China's global endpoint names no region: the SDK takes it from the settings, or refuses.
    ("https://s3.amazonaws.com.cn", "cn-northwest-1", "profilepics"),
    ("https://s3.amazonaws.com", "us-east-1", "profilepics"),
]


@pytest.mark.parametrize(("endpoint", "region", "bucket"), CASES)
def test_a_direct_upload_posts_to_the_host_its_policy_is_signed_for(
    endpoint: str, region: str, bucket: str
) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=10)

    url, fields = _store(endpoint, region, bucket).presign_post(UPLOAD, 1024, expires)

    assert _host_region(url, bucket) == region
    assert _scope_region(fields["x-amz-credential"]) == region
    assert fields["key"] == UPLOAD


@pytest.mark.parametrize(("endpoint", "region", "bucket"), CASES)
def test_a_presigned_get_names_the_host_its_signature_is_scoped_to(
    endpoint: str, region: str, bucket: str
) -> None:
    url = _store(endpoint, region, bucket).presign_get(KEY, 600, datetime.now(UTC))

    query = parse_qs(urlsplit(url).query)
    assert _host_region(url, bucket) == region
    assert _scope_region(query["X-Amz-Credential"][0]) == region
    assert urlsplit(url).path.endswith(KEY)


def test_a_minio_endpoint_keeps_path_style_urls_with_the_configured_region() -> None:
    store = _store("https://minio.example.com:9000", "eu-west-1", "profilepics")
    expires = datetime.now(UTC) + timedelta(minutes=10)

    url, fields = store.presign_post(UPLOAD, 1024, expires)
    get = store.presign_get(KEY, 600, datetime.now(UTC))

    assert url == "https://minio.example.com:9000/profilepics"
    assert get.startswith(f"https://minio.example.com:9000/profilepics/{KEY}?")
    assert _scope_region(fields["x-amz-credential"]) == "eu-west-1"


def _conditions(fields: dict[str, str]) -> list[Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return [c for c in policy["conditions"] if not (isinstance(c, dict) and "bucket" in c)]


def test_a_post_policy_takes_exactly_the_declared_type_and_size_for_its_key() -> None:
    store = _store("https://s3.amazonaws.com", "eu-west-1", "profilepics")
    expires = datetime(2030, 1, 1, tzinfo=UTC)

    _, fields = store.presign_post(UPLOAD, 2048, expires, min_bytes=2048, content_type="image/png")

    conditions = _conditions(fields)
    assert ["eq", "$key", UPLOAD] in conditions
    assert ["eq", "$Content-Type", "image/png"] in conditions
    assert ["content-length-range", 2048, 2048] in conditions
    assert (fields["key"], fields["Content-Type"]) == (UPLOAD, "image/png")


def test_a_post_policy_without_a_declared_type_has_no_type_condition_or_field() -> None:
    store = _store("https://s3.amazonaws.com", "eu-west-1", "profilepics")

    _, fields = store.presign_post(UPLOAD, 1024, datetime(2030, 1, 1, tzinfo=UTC))

    conditions = _conditions(fields)
    assert not any("Content-Type" in str(c) for c in conditions)
    assert "Content-Type" not in fields
    assert ["content-length-range", 1, 1024] in conditions  # an empty file is never taken
