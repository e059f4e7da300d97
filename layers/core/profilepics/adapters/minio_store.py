"""The object store adapter: the MinIO SDK over the S3 API, translating its errors to ours."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.datatypes import PostPolicy
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error
from minio.helpers import BaseURL

from profilepics import keys
from profilepics.adapters.store_credentials import provider_for
from profilepics.config import Settings
from profilepics.errors import InternalError, StorageUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"})
_PING_KEY = f"{keys.ORIGINALS}.ping"


def minio_client(settings: Settings, endpoint: str | None = None, credentials: Any = None) -> Minio:
    """A MinIO client for the store (or for endpoint), with bounded timeouts and retries; its
    keys from credentials (a provider) or, by default, as settings say (see credentials.py)."""
    endpoint = endpoint or settings.s3_endpoint
    parts = urlsplit(endpoint)
    http = urllib3.PoolManager(
        # One bound for both: a store that accepts but never answers costs at most
        # (retries + 1) x timeout, never the minutes of the SDK's defaults.
        timeout=urllib3.Timeout(
            connect=settings.s3_timeout_seconds, read=settings.s3_timeout_seconds
        ),
        retries=urllib3.Retry(
            total=settings.s3_retries, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)
        ),
        maxsize=16,
        ca_certs=str(settings.s3_ca_bundle) if settings.s3_ca_bundle else None,
        cert_reqs="CERT_REQUIRED" if parts.scheme == "https" else None,
    )
    return Minio(
        parts.netloc,
        access_key=settings.s3_access_key.get_secret_value() or None,
        secret_key=settings.s3_secret_key.get_secret_value() or None,
        credentials=credentials if credentials is not None else provider_for(settings),
        secure=parts.scheme == "https",
        # A region stops the SDK asking the store for the bucket's location before each first call.
        region=settings.region,
        http_client=http,
    )


def _post_url(settings: Settings) -> str:
    """Where browsers POST direct uploads: the URL the SDK would call for the bucket, so that on
    S3 it is the region's own host (bucket.s3.<region>.amazonaws.com), matching the policy's
    credential scope; a global s3.amazonaws.com URL with an eu-west-1 scope is refused."""
    base = BaseURL(settings.signing_endpoint, settings.region)
    return str(
        base.build(method="POST", region=settings.region, bucket_name=settings.bucket).geturl()
    )


def guard(operation: str, call: Callable[[], T]) -> T:
    """Run one SDK call: the server's and the transport's errors are the store's unavailability;
    the SDK refusing our own arguments (a ValueError) is a bug of ours, a 500."""
    try:
        return call()
    except S3Error as exc:
        log.warning("object store refused %s: %s", operation, exc.code)
        raise StorageUnavailable(f"The object store refused {operation}") from None
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        log.warning("object store unreachable during %s: %s", operation, type(exc).__name__)
        raise StorageUnavailable(f"The object store did not answer {operation}") from None
    except ValueError as exc:
        log.error("object store call %s was refused by the SDK: %s", operation, type(exc).__name__)
        raise InternalError() from None


class MinioStore:
    """ObjectStore on MinIO or any S3 API; URLs are signed for the public endpoint."""

    def __init__(self, settings: Settings) -> None:
        self._bucket = settings.bucket
        credentials = provider_for(settings)  # one per instance: a secret is read once
        self._client = minio_client(settings, credentials=credentials)
        self._signer = (
            self._client
            if settings.signing_endpoint == settings.s3_endpoint
            else minio_client(settings, settings.signing_endpoint, credentials)
        )
        self._post_url = _post_url(settings)

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        guard(
            "put",
            lambda: self._client.put_object(
                self._bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata={"Cache-Control": cache_control},
            ),
        )

    def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                response = self._client.get_object(self._bucket, key)
            except S3Error as exc:
                if exc.code in _MISSING:
                    return None
                raise
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return guard("get", read)

    def exists(self, key: str) -> bool:
        def stat() -> bool:
            try:
                self._client.stat_object(self._bucket, key)
            except S3Error as exc:
                if exc.code in _MISSING:
                    return False
                raise
            return True

        return guard("stat", stat)

    def delete(self, keys: Iterable[str]) -> None:
        objects = [DeleteObject(key) for key in keys]
        if not objects:
            return

        def remove() -> None:
            errors = list(self._client.remove_objects(self._bucket, objects))
            failed = [e for e in errors if e.code not in _MISSING]
            if failed:
                raise StorageUnavailable(f"The object store kept {len(failed)} objects")

        guard("delete", remove)

    def list_keys(self, prefix: str) -> Iterator[str]:
        listed = guard(
            "list", lambda: list(self._client.list_objects(self._bucket, prefix, recursive=True))
        )
        return iter(obj.object_name for obj in listed if obj.object_name)

    def list_objects(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[tuple[str, datetime]]:
        # Page by page as the caller iterates, so a whole bucket is never held in memory.
        listing = self._client.list_objects(
            self._bucket, prefix, recursive=True, start_after=start_after
        )
        while (obj := guard("list", lambda: next(listing, None))) is not None:
            if obj.object_name and obj.last_modified:
                yield obj.object_name, obj.last_modified

    def presign_get(self, key: str, expires_seconds: int, signed_at: datetime) -> str:
        return guard(
            "presign",
            lambda: self._signer.presigned_get_object(
                self._bucket,
                key,
                expires=timedelta(seconds=expires_seconds),
                request_date=signed_at,
            ),
        )

    def presign_post(
        self,
        key: str,
        max_bytes: int,
        expires_at: datetime,
        *,
        min_bytes: int = 1,
        content_type: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        policy = PostPolicy(self._bucket, expires_at)
        policy.add_equals_condition("key", key)
        # Only a type the caller declared is a condition: one `fields` omits would make a
        # client that posts `fields` as they are fail (403). Ingest checks the bytes anyway.
        if content_type is not None:
            policy.add_equals_condition("Content-Type", content_type)
        policy.add_content_length_range_condition(min_bytes, max_bytes)
        fields = guard("presign", lambda: self._signer.presigned_post_policy(policy))
        declared = {"Content-Type": content_type} if content_type else {}
        return self._post_url, {"key": key, **declared, **fields}

    def ping(self) -> None:
        # A GET of a key no picture has (every original lives in a user's folder), not a HEAD
        # of the bucket: that needs rights on the whole bucket, which the app's identity may
        # lack, and a HEAD's 404 cannot tell a missing bucket from a missing key.
        def answers() -> None:
            try:
                self._client.get_object(self._bucket, _PING_KEY).close()
            except S3Error as exc:
                if exc.code not in _MISSING:  # NoSuchBucket, AccessDenied, ...
                    raise

        guard("ping", answers)
