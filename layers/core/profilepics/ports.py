"""The two ports the use cases are written against: the object store and the profile table.

Each method's docstring is its contract; tests/contract checks it on the fakes and on the real
adapters alike, so it is also the checklist for a new backend. Any method may raise the port's
unavailability (StorageUnavailable, TableUnavailable) when the server does not answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Protocol

from profilepics.models import DirectUpload, Picture, Profile


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        """Store data under key (replacing it), served later with this type and cache control."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def exists(self, key: str) -> bool:
        """Whether key is stored."""
        ...

    def delete(self, keys: Iterable[str]) -> None:
        """Delete every key; missing keys (and none at all) are not an error."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under prefix, at any depth; none is not an error."""
        ...

    def list_objects(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[tuple[str, datetime]]:
        """Every key under prefix (after start_after, when given) with its last-modified time
        (timezone-aware), in key order, fetched page by page as the caller iterates."""
        ...

    def presign_get(self, key: str, expires_seconds: int, signed_at: datetime) -> str:
        """A URL anyone may GET key with from signed_at for expires_seconds; no I/O needed.

        The same arguments give the same URL; a changed URL or an expired one is refused.
        """
        ...

    def presign_post(
        self,
        key: str,
        max_bytes: int,
        expires_at: datetime,
        *,
        min_bytes: int = 1,
        content_type: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        """A form (URL, fields) a client may POST one file of min_bytes..max_bytes to, stored
        under exactly key, until expires_at: every field as it is, then the file. A declared
        content_type is in `fields` and is the only one taken; anything else is refused by the
        store."""
        ...

    def ping(self) -> None:
        """Raise StorageUnavailable unless the bucket answers."""
        ...


class ProfileTable(Protocol):
    """Profiles by user_id. Every write but create also sets updated_at to its `now`; a user id
    the table cannot store (over 2048 bytes) raises BadRequest."""

    def create(self, profile: Profile) -> None:
        """Store a new profile; raise UserExists when the id is taken."""
        ...

    def get(self, user_id: str, *, consistent: bool = True) -> Profile | None:
        """The profile as last written (a strongly consistent read), or None. Not consistent:
        as written a moment ago (DynamoDB: usually within a second), for half the cost."""
        ...

    def get_many(self, user_ids: Iterable[str]) -> dict[str, Profile]:
        """The profiles of these ids that exist, by id (strongly consistent reads): any number
        of ids, repeats allowed; a missing one is simply absent."""
        ...

    def scan(self, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        """A page of at most limit profiles and an opaque cursor for the next, None at the end.

        Following the cursors returns every profile once; a cursor this table did not hand out
        raises BadRequest.
        """
        ...

    def update_fields(self, user_id: str, fields: Mapping[str, str], now: datetime) -> Profile:
        """Set fields and updated_at; the profile after. Raise UserNotFound when it is missing."""
        ...

    def set_picture(
        self,
        user_id: str,
        picture: Picture | None,
        expected_version: int,
        now: datetime,
        *,
        claim: DirectUpload | None = None,
    ) -> None:
        """Replace (None: remove) the picture and bump the version iff the profile exists and
        still has expected_version; else raise Conflict.

        Given the claim of a direct upload (state processing), the same write also marks that
        upload done, and happens only while the profile's upload is still exactly that claim
        (see swap_upload): a direct upload is published at most once.
        """
        ...

    def swap_picture(
        self, user_id: str, picture: Picture, expected_revision: int, now: datetime
    ) -> None:
        """Record picture iff the current picture has its id and is still at expected_revision;
        else raise Conflict. The caller sets picture.revision (expected_revision + 1), so two
        writers that read the same picture can't both succeed."""
        ...

    def start_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        """Record a new direct upload, replacing any earlier one; UserNotFound if no profile."""
        ...

    def swap_upload(
        self, user_id: str, expected: DirectUpload, new: DirectUpload, now: datetime
    ) -> None:
        """Record new as the profile's direct upload iff the stored one is still expected: the
        same id, state and claimed_at; else raise Conflict (a missing profile included).

        A compare-and-swap: of any number of concurrent swaps from one stored upload, exactly
        one succeeds. It claims a pending upload, takes over or releases a claim, and ends one.
        """
        ...

    def ping(self) -> None:
        """Raise TableUnavailable unless the table answers."""
        ...


def current_picture(table: ProfileTable, user_id: str, picture_id: str) -> Picture | None:
    """The user's picture as last written, if it is still picture_id (else None)."""
    profile = table.get(user_id)
    picture = profile.picture if profile else None
    return picture if picture is not None and picture.id == picture_id else None
