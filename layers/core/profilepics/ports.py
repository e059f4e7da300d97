"""The two ports the use cases are written against: the object store and the profile table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Protocol

from profilepics.models import DirectUpload, Picture, Profile


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, keys: Iterable[str]) -> None:
        """Delete every key; missing keys are not an error."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under prefix (none is fine)."""
        ...

    def list_objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Every key under prefix with its last-modified time (timezone-aware), page by page."""
        ...

    def presign_get(self, key: str, expires_seconds: int, signed_at: datetime) -> str: ...

    def presign_post(
        self, key: str, max_bytes: int, expires_at: datetime
    ) -> tuple[str, dict[str, str]]: ...

    def ping(self) -> None:
        """Raise StorageUnavailable unless the bucket answers."""
        ...


class ProfileTable(Protocol):
    def create(self, profile: Profile) -> None:
        """Raise UserExists when the id is taken."""
        ...

    def get(self, user_id: str) -> Profile | None: ...

    def scan(self, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]: ...

    def update_fields(self, user_id: str, fields: Mapping[str, str], now: datetime) -> Profile:
        """Raise UserNotFound when the profile does not exist."""
        ...

    def set_picture(
        self, user_id: str, picture: Picture | None, expected_version: int, now: datetime
    ) -> None:
        """Replace the picture iff the profile still has expected_version; else raise Conflict."""
        ...

    def update_picture(self, user_id: str, picture: Picture, now: datetime) -> None:
        """Record new state of the picture iff it is still the current one; else raise Conflict."""
        ...

    def start_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        """Record a new direct upload, replacing any earlier one; UserNotFound if no profile."""
        ...

    def finish_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        """Record how a direct upload ended iff it is still the latest; else raise Conflict."""
        ...

    def ping(self) -> None:
        """Raise TableUnavailable unless the table answers."""
        ...
