"""The ObjectStore contract (ports.py), run on FakeStore and on the MinIO adapter over the real
local store (SeaweedFS): the fake cannot drift, and a new backend has its checklist here."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from profilepics import keys
from profilepics.clock import utcnow
from profilepics.config import Settings
from profilepics.errors import StorageUnavailable
from profilepics.ports import ObjectStore

from tests.fakes import FakeStore, unreachable
from tests.stackrun import SHARED_STACK, RunningStack, stack_settings

Opened = tuple[bytes, str, str] | None  # (body, content type, cache control), None if refused
CACHE = "public, max-age=31536000, immutable"
EXPIRY = 600


@dataclass
class Subject:
    """A store under test, the way a client reaches its URLs, and the same store unreachable."""

    store: ObjectStore
    open_url: Callable[[str], Opened]
    post_form: Callable[[str, dict[str, str], bytes], bool]  # (url, form fields, file)
    unreachable: ObjectStore
    prefix: str  # this test's own corner of the bucket


def _fake(prefix: str) -> Subject:
    fake, down = FakeStore(), FakeStore()
    down.fault = unreachable(StorageUnavailable)
    return Subject(
        fake,
        fake.open_url,
        lambda _url, form, data: fake.post_form(form, data),
        down,
        prefix,
    )


def _open(url: str) -> Opened:
    response = requests.get(url, timeout=10)
    if response.status_code != 200:
        return None
    return response.content, response.headers["Content-Type"], response.headers["Cache-Control"]


def _post(url: str, form: dict[str, str], data: bytes) -> bool:
    response = requests.post(url, data=form, files={"file": ("f", data)}, timeout=10)
    return response.status_code in (200, 201, 204)


def _minio(settings: Settings, prefix: str) -> Subject:
    from profilepics.adapters.minio_store import MinioStore

    # Nothing listens on port 9: every call is refused at once.
    dead = settings.model_copy(update={"s3_endpoint": "http://127.0.0.1:9", "s3_retries": 0})
    return Subject(MinioStore(settings), _open, _post, MinioStore(dead), prefix)


def _store_settings(request: pytest.FixtureRequest) -> Settings:
    """The session's stack; under `make mutation`, the one stack its run started for every
    mutant (tests/mutation.py names its ready file), so no mutant starts a stack of its own."""
    shared = os.environ.get(SHARED_STACK)
    if shared:
        return stack_settings(json.loads(Path(shared).read_text()))
    stack: RunningStack = request.getfixturevalue("stack")
    return stack.settings()


@pytest.fixture(params=["fake", pytest.param("minio", marks=pytest.mark.integration)])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    # Under thumbnails/: inside the app identity's prefixes, and no bucket event runs a
    # function on what lands there.
    prefix = f"{keys.THUMBNAILS}contract-{uuid.uuid4().hex}/"
    if request.param == "fake":
        yield _fake(prefix)
        return
    subject = _minio(_store_settings(request), prefix)
    try:
        yield subject
    finally:
        subject.store.delete(list(subject.store.list_keys(prefix)))


def test_put_then_get_returns_the_bytes_and_a_missing_key_is_none(subject: Subject) -> None:
    key = f"{subject.prefix}a.jpg"
    subject.store.put(key, b"first", "image/jpeg", CACHE)
    subject.store.put(key, b"second", "image/jpeg", CACHE)

    assert subject.store.get(key) == b"second"
    assert subject.store.get(f"{subject.prefix}missing.jpg") is None


def test_exists_is_true_only_for_a_stored_key(subject: Subject) -> None:
    key = f"{subject.prefix}a.jpg"
    assert subject.store.exists(key) is False
    subject.store.put(key, b"x", "image/jpeg", CACHE)
    assert subject.store.exists(key) is True


def test_delete_removes_keys_and_missing_or_no_keys_are_fine(subject: Subject) -> None:
    kept, gone = f"{subject.prefix}kept.jpg", f"{subject.prefix}gone.jpg"
    for key in (kept, gone):
        subject.store.put(key, b"x", "image/jpeg", CACHE)

    subject.store.delete([gone, f"{subject.prefix}never-stored.jpg"])
    subject.store.delete([])
    subject.store.delete(iter([]))

    assert subject.store.get(gone) is None and subject.store.get(kept) == b"x"


def test_listing_finds_every_key_under_the_prefix_at_any_depth_and_nothing_else(
    subject: Subject,
) -> None:
    inside = [f"{subject.prefix}p/a.jpg", f"{subject.prefix}p/deep/er/b.webp"]
    outside = [f"{subject.prefix}other/c.jpg", f"{subject.prefix}pp.jpg"]
    before = utcnow() - timedelta(seconds=2)  # S3 reports whole seconds
    for key in inside + outside:
        subject.store.put(key, b"x", "image/jpeg", CACHE)
    after = utcnow() + timedelta(seconds=2)

    assert sorted(subject.store.list_keys(f"{subject.prefix}p/")) == sorted(inside)
    listed = dict(subject.store.list_objects(f"{subject.prefix}p/"))
    assert sorted(listed) == sorted(inside)
    for modified in listed.values():
        assert modified.tzinfo is not None and before <= modified <= after
    assert list(subject.store.list_keys(f"{subject.prefix}none/")) == []
    assert list(subject.store.list_objects(f"{subject.prefix}none/")) == []


def test_a_listing_is_in_key_order_and_resumes_after_a_key_across_pages(
    subject: Subject,
) -> None:
    """More keys than one S3 page (1,000), so the resumed listing crosses a page boundary."""
    names = [f"{subject.prefix}k/{n:05d}/{'x' if n % 2 else 'y'}" for n in range(1100)]
    for key in names:
        subject.store.put(key, b"x", "image/jpeg", CACHE)

    listed = [key for key, _ in subject.store.list_objects(f"{subject.prefix}k/")]
    after = [key for key, _ in subject.store.list_objects(f"{subject.prefix}k/", names[49])]
    between = f"{subject.prefix}k/00049/z"  # start_after need not be a stored key
    resumed = [key for key, _ in subject.store.list_objects(f"{subject.prefix}k/", between)]

    assert listed == sorted(names)
    assert after == resumed == sorted(names)[50:]


def test_a_listing_resumed_after_any_key_it_returned_returns_exactly_the_rest(
    subject: Subject,
) -> None:
    """Where a file and a folder share a name (`a.jpg`, `a/64.webp`) stores order them their
    own way: S3 by key, SeaweedFS its folders first. Resuming follows the store's own order."""
    names = ["a.jpg", "a/64.webp", "a/128.webp", "a.b/1", "a0.jpg", "b.jpg", "b/c/d", "b.c"]
    for name in names:
        subject.store.put(f"{subject.prefix}f/{name}", b"x", "image/jpeg", CACHE)

    listed = [key for key, _ in subject.store.list_objects(f"{subject.prefix}f/")]

    assert sorted(listed) == sorted(f"{subject.prefix}f/{name}" for name in names)
    for index, key in enumerate(listed):
        rest = [k for k, _ in subject.store.list_objects(f"{subject.prefix}f/", key)]
        assert rest == listed[index + 1 :], key


def test_a_presigned_get_serves_the_object_with_its_type_and_cache_control(
    subject: Subject,
) -> None:
    key = f"{subject.prefix}a.webp"
    subject.store.put(key, b"RIFF....WEBP", "image/webp", CACHE)
    signed_at = utcnow().replace(microsecond=0)

    url = subject.store.presign_get(key, EXPIRY, signed_at)

    assert subject.store.presign_get(key, EXPIRY, signed_at) == url  # cacheable: same URL
    assert subject.open_url(url) == (b"RIFF....WEBP", "image/webp", CACHE)


def test_an_object_keeps_the_type_it_was_given_whatever_its_key_says(subject: Subject) -> None:
    """The type given is stored, never guessed (SeaweedFS guesses one from a key's extension
    when none is sent): a key with no extension, and one whose extension says otherwise."""
    for key, content_type in (("plain", "image/avif"), ("a.png", "image/webp")):
        subject.store.put(f"{subject.prefix}{key}", b"data", content_type, CACHE)
        url = subject.store.presign_get(f"{subject.prefix}{key}", EXPIRY, utcnow())
        assert subject.open_url(url) == (b"data", content_type, CACHE)


def test_a_presigned_get_is_refused_once_changed_or_expired(subject: Subject) -> None:
    key, other = f"{subject.prefix}a.jpg", f"{subject.prefix}b.jpg"
    for stored in (key, other):
        subject.store.put(stored, b"x", "image/jpeg", CACHE)
    url = subject.store.presign_get(key, EXPIRY, utcnow())
    parts = urlsplit(url)

    for_other = urlunsplit(parts._replace(path=parts.path.replace("a.jpg", "b.jpg")))
    expired = subject.store.presign_get(key, EXPIRY, utcnow() - timedelta(seconds=EXPIRY + 60))

    assert subject.open_url(url) is not None
    assert subject.open_url(for_other) is None
    assert subject.open_url(expired) is None


def test_a_presigned_post_stores_one_file_within_its_limits_under_its_key(
    subject: Subject,
) -> None:
    key = f"{subject.prefix}upload"
    url, fields = subject.store.presign_post(key, 100, utcnow() + timedelta(minutes=5))

    assert "Content-Type" not in fields  # nothing declared, so nothing demanded of it
    assert subject.post_form(url, fields, b"x" * 101) is False  # too large
    assert subject.post_form(url, fields, b"") is False  # empty
    elsewhere = {**fields, "key": f"{subject.prefix}elsewhere"}
    assert subject.post_form(url, elsewhere, b"x" * 10) is False
    assert list(subject.store.list_keys(subject.prefix)) == []

    # The fields as returned, plus the file, are a complete upload (any S3 POST client).
    assert subject.post_form(url, fields, b"y" * 100) is True
    assert subject.store.get(key) == b"y" * 100


def test_a_declared_type_and_size_are_in_fields_and_the_only_ones_the_policy_takes(
    subject: Subject,
) -> None:
    key = f"{subject.prefix}upload"
    expires = utcnow() + timedelta(minutes=5)
    url, fields = subject.store.presign_post(
        key, 10, expires, min_bytes=10, content_type="image/png"
    )

    assert fields["Content-Type"] == "image/png"
    for content_type in ("image/jpeg", "IMAGE/PNG", "text/html"):
        assert subject.post_form(url, {**fields, "Content-Type": content_type}, b"x" * 10) is False
    assert subject.post_form(url, fields, b"x" * 9) is False  # shorter than declared
    assert subject.post_form(url, fields, b"x" * 11) is False  # longer than declared
    assert list(subject.store.list_keys(subject.prefix)) == []

    assert subject.post_form(url, fields, b"z" * 10) is True
    assert subject.store.get(key) == b"z" * 10


def test_an_expired_post_policy_is_refused(subject: Subject) -> None:
    key = f"{subject.prefix}upload"
    url, fields = subject.store.presign_post(key, 100, datetime.now(UTC) - timedelta(seconds=5))

    assert subject.post_form(url, fields, b"x") is False
    assert subject.store.get(key) is None


def test_ping_answers_and_an_unreachable_store_is_storage_unavailable(subject: Subject) -> None:
    subject.store.ping()
    key = f"{subject.prefix}a.jpg"
    calls: list[Callable[[], object]] = [
        subject.unreachable.ping,
        lambda: subject.unreachable.put(key, b"x", "image/jpeg", CACHE),
        lambda: subject.unreachable.get(key),
        lambda: subject.unreachable.exists(key),
        lambda: subject.unreachable.delete([key]),
        lambda: list(subject.unreachable.list_keys(subject.prefix)),
        lambda: list(subject.unreachable.list_objects(subject.prefix)),
    ]
    for call in calls:
        with pytest.raises(StorageUnavailable):
            call()
