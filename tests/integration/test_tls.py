"""TLS to the store: the stack's own CA, honoured by the service and required by clients."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from minio import Minio
from PIL import Image
from profilepics.adapters.minio_store import MinioStore
from profilepics.errors import StorageUnavailable

from tests.api_client import jpeg, new_user, put_picture
from tests.integration.invariants import settle
from tests.stackrun import ACCESS_KEY, SECRET_KEY, RunningStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_stack(https_stack: RunningStack) -> RunningStack:
    return https_stack


@pytest.fixture(scope="module")
def ca(tls_stack: RunningStack) -> Path:
    path = Path(tls_stack.info["ca_bundle"])
    assert path == tls_stack.data_dir / "tls" / "ca.pem"
    return path


@pytest.fixture(scope="module")
def picture(tls_stack: RunningStack) -> dict[str, Any]:
    """A user's picture uploaded through the API, its thumbnails made."""
    user = new_user(tls_stack.api, "tls")
    response = put_picture(tls_stack.api, user, jpeg(300, 200))
    assert response.status_code == 201, response.text
    settle(tls_stack, [user])
    body: dict[str, Any] = requests.get(f"{tls_stack.api}/users/{user}", timeout=10).json()
    return {"user_id": user, **body}


def minio_client(stack: RunningStack, pool: urllib3.PoolManager) -> Minio:
    host = str(stack.info["s3_endpoint"]).removeprefix("https://")
    return Minio(
        host,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=True,
        region="us-east-1",
        http_client=pool,
    )


def test_the_store_is_https_and_presigned_urls_are_https(
    tls_stack: RunningStack, picture: dict[str, Any]
) -> None:
    assert str(tls_stack.info["s3_endpoint"]).startswith("https://127.0.0.1:")
    urls = [picture["profile_picture_url"], *picture["profile_picture_variants"].values()]
    assert len(urls) == 5
    assert all(url.startswith("https://") and "X-Amz-Signature=" in url for url in urls)
    # The store speaks only TLS: the same signed URL over plain HTTP gets no picture.
    plain = requests.get(urls[0].replace("https://", "http://", 1), timeout=10)
    assert plain.status_code == 400 and not plain.content.startswith(b"\xff\xd8")


def test_presigned_urls_are_fetched_with_the_stack_ca(picture: dict[str, Any], ca: Path) -> None:
    variants = picture["profile_picture_variants"]
    for url, size in ((picture["profile_picture_url"], (300, 200)), (variants["64"], (64, 64))):
        response = requests.get(url, verify=str(ca), timeout=10)

        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).size == size


def test_without_the_ca_presigned_urls_fail_certificate_verification(
    picture: dict[str, Any],
) -> None:
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(picture["profile_picture_url"], timeout=10)


def test_minio_client_verifies_the_certificate_against_the_ca(
    tls_stack: RunningStack, picture: dict[str, Any], ca: Path
) -> None:
    key = f"originals/{picture['user_id']}/"
    trusting = minio_client(
        tls_stack, urllib3.PoolManager(ca_certs=str(ca), cert_reqs="CERT_REQUIRED")
    )
    untrusting = minio_client(tls_stack, urllib3.PoolManager(retries=False))

    assert len(list(trusting.list_objects(tls_stack.bucket, key))) == 1
    with pytest.raises(urllib3.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        list(untrusting.list_objects(tls_stack.bucket, key))


def test_the_service_adapter_honours_the_ca_bundle_setting(tls_stack: RunningStack) -> None:
    with_ca = tls_stack.settings()
    without_ca = with_ca.model_copy(update={"s3_ca_bundle": None})

    MinioStore(with_ca).ping()
    with pytest.raises(StorageUnavailable):
        MinioStore(without_ca).ping()
