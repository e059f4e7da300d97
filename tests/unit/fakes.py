"""In-memory fakes of the two ports (object store, profile table) that record what they did."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime

from profilepics.errors import Conflict, StorageUnavailable, UserExists, UserNotFound
from profilepics.models import DirectUpload, Picture, Profile

Fault = Callable[[str], Exception | None]


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


class FakeStore:
    """ObjectStore in a dict. `fault(operation)` may return an error to raise instead."""

    def __init__(self, journal: Journal | None = None, bucket: str = "profilepics") -> None:
        self.journal = journal or Journal()
        self.bucket = bucket
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
        self.modified[key] = datetime.now(UTC)
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

    def list_objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        self._check("list")
        return iter([(key, self.modified[key]) for key in self.list_keys(prefix)])

    def presign_get(self, key: str, expires_seconds: int, signed_at: datetime) -> str:
        self._check("presign")
        self.presigned.append((key, expires_seconds, signed_at))
        date = signed_at.strftime("%Y%m%dT%H%M%SZ")
        signature = hashlib.sha256(f"{key}|{date}|{expires_seconds}".encode()).hexdigest()
        return (
            f"https://store.test/{self.bucket}/{key}"
            f"?X-Amz-Date={date}&X-Amz-Expires={expires_seconds}&X-Amz-Signature={signature}"
        )

    def presign_post(
        self, key: str, max_bytes: int, expires_at: datetime
    ) -> tuple[str, dict[str, str]]:
        self._check("presign")
        return f"https://store.test/{self.bucket}", {"key": key, "max": str(max_bytes)}

    def ping(self) -> None:
        self._check("ping")


class FakeTable:
    """ProfileTable in a dict, with DynamoDB's conditional-write semantics."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal or Journal()
        self.profiles: dict[str, Profile] = {}
        self.fault: Fault = lambda _operation: None
        # Called just before a conditional picture write: lets a test slip in a rival write.
        self.before_set_picture: Callable[[str], None] = lambda _user_id: None

    def _check(self, operation: str) -> None:
        error = self.fault(operation)
        if error is not None:
            raise error

    def _existing(self, user_id: str) -> Profile:
        profile = self.profiles.get(user_id)
        if profile is None:
            raise UserNotFound()
        return profile

    def create(self, profile: Profile) -> None:
        self._check("create")
        if profile.user_id in self.profiles:
            raise UserExists()
        self.profiles[profile.user_id] = profile

    def get(self, user_id: str) -> Profile | None:
        self._check("get")
        return self.profiles.get(user_id)

    def scan(self, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        ids = sorted(self.profiles)
        start = ids.index(cursor) + 1 if cursor in ids else 0
        page = ids[start : start + limit]
        more = start + limit < len(ids)
        return [self.profiles[i] for i in page], page[-1] if more and page else None

    def update_fields(self, user_id: str, fields: Mapping[str, str], now: datetime) -> Profile:
        self._check("update_fields")
        updated = self._existing(user_id).model_copy(update={**fields, "updated_at": now})
        self.profiles[user_id] = updated
        return updated

    def set_picture(
        self, user_id: str, picture: Picture | None, expected_version: int, now: datetime
    ) -> None:
        self.before_set_picture(user_id)
        self._check("set_picture")
        profile = self._existing(user_id)
        if profile.version != expected_version:
            raise Conflict()
        self.profiles[user_id] = profile.model_copy(
            update={"picture": picture, "version": profile.version + 1, "updated_at": now}
        )
        self.journal.add("set_picture", picture.key if picture else "")

    def update_picture(self, user_id: str, picture: Picture, now: datetime) -> None:
        self._check("update_picture")
        profile = self._existing(user_id)
        if profile.picture is None or profile.picture.id != picture.id:
            raise Conflict()
        self.profiles[user_id] = profile.model_copy(update={"picture": picture, "updated_at": now})

    def start_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        self._check("start_upload")
        profile = self._existing(user_id)
        self.profiles[user_id] = profile.model_copy(update={"upload": upload, "updated_at": now})

    def finish_upload(self, user_id: str, upload: DirectUpload, now: datetime) -> None:
        self._check("finish_upload")
        profile = self._existing(user_id)
        if profile.upload is None or profile.upload.id != upload.id:
            raise Conflict()
        self.profiles[user_id] = profile.model_copy(update={"upload": upload, "updated_at": now})

    def ping(self) -> None:
        self._check("ping")


def failing(*operations: str, error: type[Exception] = StorageUnavailable) -> Fault:
    """A fault that makes the named operations raise error (an unreachable store, by default)."""
    return lambda operation: error() if operation in operations else None


class FakeMeter:
    """A Meter that keeps what was recorded: (metric name, value, dimensions)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, float, dict[str, str]]] = []

    def record(self, metric: object, value: float, **dimensions: str) -> None:
        self.records.append((str(metric), value, dimensions))

    def named(self, name: str) -> list[tuple[float, dict[str, str]]]:
        return [(value, dims) for metric, value, dims in self.records if metric == name]
