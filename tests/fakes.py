"""In-memory fakes of the two ports (object store, profile table) that record what they did.

tests/contract runs the same suite on these and on the real adapters, so they keep the ports'
contracts (ports.py) to the letter: conditional writes, missing keys, cursors, signed URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from profilepics import cursor as cursor_codec
from profilepics.clock import Clock, utcnow
from profilepics.errors import (
    BadRequest,
    Conflict,
    StorageUnavailable,
    UserExists,
    UserNotFound,
)
from profilepics.models import DirectUpload, Picture, Profile, UploadState

Fault = Callable[[str], Exception | None]
STORE_URL = "https://store.test"
_SIGNING_KEY = b"fake-store-signing-key"
_KEY_LIMIT = 2048  # DynamoDB's partition key ceiling, in bytes


class Journal:
    """One ordered log shared by both fakes, so a test can check the order of writes."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def add(self, action: str, subject: str) -> None:
        self.entries.append((action, subject))

    def index(self, action: str, subject: str) -> int:
        return self.entries.index((action, subject))

    def actions(self, action: str) -> list[str]:
        return [subject for done, subject in self.entries if done == action]


def _sign(*parts: str) -> str:
    return hmac.new(_SIGNING_KEY, "|".join(parts).encode(), hashlib.sha256).hexdigest()


class FakeStore:
    """ObjectStore in a dict. `fault(operation)` may return an error to raise instead.

    Its URLs are checked by the fake itself: `open_url` serves a presigned GET only while its
    signature and expiry hold, `post_form` stores a direct upload only within its policy.
    """

    def __init__(
        self, journal: Journal | None = None, bucket: str = "profilepics", clock: Clock = utcnow
    ) -> None:
        self.journal = journal or Journal()
        self.bucket = bucket
        self.clock = clock
        self.objects: dict[str, bytes] = {}
        self.headers: dict[str, tuple[str, str]] = {}
        self.modified: dict[str, datetime] = {}
        self.presigned: list[tuple[str, int, datetime]] = []
        self.fault: Fault = lambda _operation: None

    def _check(self, operation: str) -> None:
        error = self.fault(operation)
        if error is not None:
            raise error

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        self._check("put")
        self.objects[key] = data
        self.headers[key] = (content_type, cache_control)
        self.modified[key] = self.clock()
        self.journal.add("put", key)

    def get(self, key: str) -> bytes | None:
        self._check("get")
        return self.objects.get(key)

    def exists(self, key: str) -> bool:
        self._check("exists")
        return key in self.objects

    def delete(self, keys: Iterable[str]) -> None:
        self._check("delete")
        for key in list(keys):
            self.objects.pop(key, None)
            self.journal.add("delete", key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        self._check("list")
        return iter(sorted(key for key in self.objects if key.startswith(prefix)))

    def list_objects(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[tuple[str, datetime]]:
        self._check("list")
        listed = [key for key in self.list_keys(prefix) if start_after is None or key > start_after]
        return iter([(key, self.modified[key]) for key in listed])

    def presign_get(self, key: str, expires_seconds: int, signed_at: datetime) -> str:
        self._check("presign")
        self.presigned.append((key, expires_seconds, signed_at))
        date = signed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        signature = _sign(key, date, str(expires_seconds))
        return (
            f"{STORE_URL}/{self.bucket}/{key}"
            f"?X-Amz-Date={date}&X-Amz-Expires={expires_seconds}&X-Amz-Signature={signature}"
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
        self._check("presign")
        expires = expires_at.astimezone(UTC).isoformat()
        terms = {"min": str(min_bytes), "max": str(max_bytes), "expires": expires}
        terms["type"] = content_type or ""
        fields = {"key": key, **terms, "policy": _sign(key, *terms.values())}
        if content_type is not None:
            fields["Content-Type"] = content_type
        return f"{STORE_URL}/{self.bucket}", fields

    def ping(self) -> None:
        self._check("ping")

    # What a client of the real store would do with the URLs: for contract tests.

    def open_url(self, url: str) -> tuple[bytes, str, str] | None:
        """(bytes, content type, cache control) for a valid presigned GET, else None (403)."""
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        key = parts.path.removeprefix(f"/{self.bucket}/")
        date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "0")
        if not hmac.compare_digest(query.get("X-Amz-Signature", ""), _sign(key, date, expires)):
            return None
        signed_at = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if not signed_at <= self.clock() < signed_at + timedelta(seconds=int(expires)):
            return None
        if key not in self.objects:
            return None
        return self.objects[key], *self.headers[key]

    def post_form(self, form: Mapping[str, str], data: bytes) -> bool:
        """Store a direct upload as the store would: only within the policy's conditions."""
        key, expires = form.get("key", ""), form["expires"]
        low, high, declared = form.get("min", "1"), form.get("max", "0"), form.get("type", "")
        signed = _sign(key, low, high, expires, declared)
        if not hmac.compare_digest(form.get("policy", ""), signed):
            return False
        content_type = form.get("Content-Type", "")
        fresh = self.clock() < datetime.fromisoformat(expires)
        if not fresh or declared and content_type != declared:
            return False
        if not int(low) <= len(data) <= int(high):
            return False
        self.put(key, data, content_type, "")
        return True


class FakeTable:
    """ProfileTable in a dict, with DynamoDB's conditional-write semantics."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal or Journal()
        self.profiles: dict[str, Profile] = {}
        self.batches: list[int] = []  # the distinct ids of each get_many, in order
        self.reads: list[str] = []  # each get: "consistent" or "eventual"
        self.fault: Fault = lambda _operation: None
        # A real table applies each conditional write to an item atomically.
        self._lock = threading.Lock()
        # Called just before a conditional write: lets a test slip in a rival write.
        self.before_set_picture: Callable[[str], None] = lambda _user_id: None
        self.before_swap_upload: Callable[[str], None] = lambda _user_id: None
        self.before_swap_picture: Callable[[str], None] = lambda _user_id: None

    def _check(self, operation: str, user_id: str = "") -> None:
        error = self.fault(operation)
        if error is not None:
            raise error
        if len(user_id.encode()) > _KEY_LIMIT:
            raise BadRequest("The request has a value the table cannot store")

    def _existing(self, user_id: str, missing: type[Exception] = Conflict) -> Profile:
        """The profile; a condition on a missing item fails like any other condition."""
        profile = self.profiles.get(user_id)
        if profile is None:
            raise missing()
        return profile

    def create(self, profile: Profile) -> None:
        self._check("create", profile.user_id)
        if profile.user_id in self.profiles:
            raise UserExists()
        self.profiles[profile.user_id] = profile

    def get(self, user_id: str, *, consistent: bool = True) -> Profile | None:
        self._check("get", user_id)
        self.reads.append("consistent" if consistent else "eventual")
        return self.profiles.get(user_id)

    def get_many(self, user_ids: Iterable[str]) -> dict[str, Profile]:
        self._check("get_many")
        wanted = list(user_ids)
        for user_id in wanted:
            self._check("get_many", user_id)
        self.batches.append(len(set(wanted)))
        return {u: self.profiles[u] for u in wanted if u in self.profiles}

    def scan(self, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        self._check("scan")
        ids = sorted(self.profiles)
        if cursor:
            after = cursor_codec.decode(cursor)
            ids = [user_id for user_id in ids if user_id > after]
        page = ids[:limit]
        more = len(ids) > limit
        return [self.profiles[i] for i in page], cursor_codec.encode(page[-1]) if more else None

    def update_fields(self, user_id: str, fields: Mapping[str, str], now: datetime) -> Profile:
        self._check("update_fields", user_id)
        profile = self._existing(user_id, missing=UserNotFound)
        updated = profile.model_copy(update={**fields, "updated_at": now})
        self.profiles[user_id] = updated
        return updated

    def set_picture(
        self,
        user_id: str,
        picture: Picture | None,
        expected_version: int,
        now: datetime,
        *,
        claim: DirectUpload | None = None,
    ) -> None:
        self.before_set_picture(user_id)
        self._check("set_picture", user_id)
        with self._lock:
            self._set_picture(user_id, picture, expected_version, now, claim)
        self.journal.add("set_picture", picture.key if picture else "")

    def _set_picture(
        self,
        user_id: str,
        picture: Picture | None,
        expected_version: int,
        now: datetime,
        claim: DirectUpload | None,
    ) -> None:
        profile = self._existing(user_id)
        if profile.version != expected_version:
            raise Conflict()
        update: dict[str, object] = {
            "picture": picture,
            "version": profile.version + 1,
            "updated_at": now,
        }
        if claim is not None:
            if not _same_upload(profile.upload, claim):
                raise Conflict()
            update["upload"] = claim.model_copy(
                update={"state": UploadState.DONE, "error_code": None}
            )
        self.profiles[user_id] = profile.model_copy(update=update)

    def swap_picture(
        self, user_id: str, picture: Picture, expected_revision: int, now: datetime
    ) -> None:
        self.before_swap_picture(user_id)
        self._check("swap_picture", user_id)
        with self._lock:
            profile = self._existing(user_id)
            current = profile.picture
            if current is None or current.id != picture.id or current.revision != expected_revision:
                raise Conflict()
            update = {"picture": picture, "updated_at": now}
            self.profiles[user_id] = profile.model_copy(update=update)
        self.journal.add("swap_picture", picture.id)

    def start_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        self._check("start_upload", user_id)
        profile = self._existing(user_id, missing=UserNotFound)
        self.profiles[user_id] = profile.model_copy(update={"upload": upload, "updated_at": now})

    def swap_upload(
        self, user_id: str, expected: DirectUpload, new: DirectUpload, now: datetime
    ) -> None:
        self.before_swap_upload(user_id)
        self._check("swap_upload", user_id)
        with self._lock:
            profile = self._existing(user_id)
            if not _same_upload(profile.upload, expected):
                raise Conflict()
            self.profiles[user_id] = profile.model_copy(update={"upload": new, "updated_at": now})
        self.journal.add("swap_upload", f"{new.id}:{new.state.value}")

    def ping(self) -> None:
        self._check("ping")


def _same_upload(stored: DirectUpload | None, expected: DirectUpload) -> bool:
    """What DynamoDB's condition compares: the id, the state and the claim."""
    return stored is not None and (stored.id, stored.state, stored.claimed_at) == (
        expected.id,
        expected.state,
        expected.claimed_at,
    )


def failing(*operations: str, error: type[Exception] = StorageUnavailable) -> Fault:
    """A fault that makes the named operations raise error (an unreachable store, by default)."""
    return lambda operation: error() if operation in operations else None


def unreachable(error: type[Exception]) -> Fault:
    """Every operation fails as with a server that does not answer."""
    return lambda _operation: error()


class FakeMeter:
    """A Meter that keeps what was recorded: (metric name, value, dimensions)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, float, dict[str, str]]] = []

    def record(self, metric: object, value: float, **dimensions: str) -> None:
        self.records.append((str(metric), value, dimensions))

    def named(self, name: str) -> list[tuple[float, dict[str, str]]]:
        return [(value, dims) for metric, value, dims in self.records if metric == name]
