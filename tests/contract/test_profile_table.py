"""The ProfileTable contract (ports.py), run on FakeTable and on the DynamoDB adapter over the
real local table (dynalite): the fake cannot drift, and a new backend has its checklist here.

The adapter also runs on moto's in-process DynamoDB, which evaluates the same condition and
update expressions without a socket: that is the run `make mutation` mutates the adapter
against (docs/mutation.md); dynalite stays the real thing the other two are held to."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from profilepics.errors import BadRequest, Conflict, TableUnavailable, UserExists, UserNotFound
from profilepics.models import DirectUpload, Picture, Profile, UploadState
from profilepics.ports import ProfileTable

from tests.fakes import FakeTable, unreachable
from tests.stackrun import RunningStack, wait_for

CREATED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = CREATED + timedelta(minutes=5)
CLAIMANTS = 8


@dataclass
class Subject:
    table: ProfileTable
    unreachable: ProfileTable
    tag: str  # this test's own user ids start with it

    def profile(self, name: str = "ada") -> Profile:
        user_id = f"{self.tag}-{name}"
        profile = Profile(
            user_id=user_id,
            display_name=name.title(),
            email=f"{user_id}@example.com",
            created_at=CREATED,
            updated_at=CREATED,
        )
        self.table.create(profile)
        return profile

    def current(self, user_id: str) -> Profile:
        found = self.table.get(user_id)
        assert found is not None
        return found


def _dynamodb(stack: RunningStack) -> tuple[ProfileTable, ProfileTable]:
    from profilepics.adapters.dynamodb_table import DynamoDBTable

    settings = stack.settings()
    dead = settings.model_copy(update={"dynamodb_endpoint": "http://127.0.0.1:9"})
    return DynamoDBTable(settings), DynamoDBTable(dead)


def _moto() -> Iterator[tuple[ProfileTable, ProfileTable]]:
    from moto import mock_aws
    from profilepics.adapters.dynamodb_table import DynamoDBTable, dynamodb_client
    from profilepics.config import Settings

    from infra.bootstrap import table_definition
    from infra.invoker.template import load
    from infra.local import REPO_ROOT

    settings = Settings(
        dynamodb_endpoint=None, dynamodb_access_key="moto", dynamodb_secret_key="moto"
    )
    dead = settings.model_copy(update={"dynamodb_endpoint": "http://127.0.0.1:9"})
    with mock_aws():
        definition = table_definition(load(REPO_ROOT / "template.yaml"), settings.table)
        dynamodb_client(settings).create_table(**definition)
        yield DynamoDBTable(settings), DynamoDBTable(dead)


def _subjects(request: pytest.FixtureRequest) -> Iterator[Subject]:
    tag = f"c{uuid.uuid4().hex[:12]}"
    if request.param == "fake":
        down = FakeTable()
        down.fault = unreachable(TableUnavailable)
        yield Subject(FakeTable(), down, tag)
    elif request.param == "moto":
        yield from (Subject(*tables, tag) for tables in _moto())
    else:
        yield Subject(*_dynamodb(request.getfixturevalue("stack")), tag)


REAL = pytest.param("dynamodb", marks=pytest.mark.integration)


@pytest.fixture(params=["fake", "moto", REAL])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    yield from _subjects(request)


# moto does not enforce DynamoDB's 2048-byte partition key limit; the fake and dynalite do.
@pytest.fixture(params=["fake", REAL])
def key_limited(request: pytest.FixtureRequest) -> Iterator[Subject]:
    yield from _subjects(request)


# moto's in-process DynamoDB evaluates a condition and applies the write without a lock: of
# concurrent conditional writes, two can pass the same condition (2 runs in 6 had two winners).
# DynamoDB serialises them per item, as the fake and dynalite do.
@pytest.fixture(params=["fake", REAL])
def serialising(request: pytest.FixtureRequest) -> Iterator[Subject]:
    yield from _subjects(request)


def picture(user_id: str, picture_id: str = "a" * 32) -> Picture:
    return Picture(
        id=picture_id,
        key=f"originals/{user_id}/{picture_id}.jpg",
        format="jpeg",
        content_type="image/jpeg",
        width=10,
        height=8,
        bytes=123,
        uploaded_at=CREATED,
    )


def upload(user_id: str, upload_id: str) -> DirectUpload:
    return DirectUpload(id=upload_id, key=f"uploads/{user_id}/{upload_id}", created_at=CREATED)


def test_a_created_profile_reads_back_equal_and_a_missing_one_is_none(subject: Subject) -> None:
    ada = subject.profile()

    assert subject.table.get(ada.user_id) == ada
    assert subject.table.get(f"{subject.tag}-nobody") is None


def test_an_eventually_consistent_read_finds_the_profile_and_misses_an_unknown_one(
    subject: Subject,
) -> None:
    profile = subject.profile()
    found = wait_for(lambda: subject.table.get(profile.user_id, consistent=False), "the read")
    assert found == profile
    assert subject.table.get(f"{subject.tag}-nobody", consistent=False) is None


def test_creating_a_taken_id_is_user_exists_and_changes_nothing(subject: Subject) -> None:
    ada = subject.profile()

    with pytest.raises(UserExists):
        subject.table.create(ada.model_copy(update={"display_name": "Impostor"}))

    assert subject.table.get(ada.user_id) == ada


def test_update_fields_sets_them_and_updated_at_and_returns_the_profile(subject: Subject) -> None:
    ada = subject.profile()

    updated = subject.table.update_fields(ada.user_id, {"display_name": "Countess"}, LATER)

    assert updated == ada.model_copy(update={"display_name": "Countess", "updated_at": LATER})
    assert subject.table.get(ada.user_id) == updated


def test_update_fields_of_a_missing_profile_is_user_not_found_and_creates_none(
    subject: Subject,
) -> None:
    missing = f"{subject.tag}-nobody"
    with pytest.raises(UserNotFound):
        subject.table.update_fields(missing, {"display_name": "X"}, LATER)
    assert subject.table.get(missing) is None


def test_set_picture_needs_the_expected_version_and_bumps_it(subject: Subject) -> None:
    user_id = subject.profile().user_id
    first, second = picture(user_id), picture(user_id, "b" * 32)

    subject.table.set_picture(user_id, first, expected_version=0, now=LATER)
    stored = subject.current(user_id)
    assert (stored.picture, stored.version, stored.updated_at) == (first, 1, LATER)

    with pytest.raises(Conflict):
        subject.table.set_picture(user_id, second, expected_version=0, now=LATER)
    assert subject.current(user_id) == stored

    subject.table.set_picture(user_id, None, expected_version=1, now=LATER)
    cleared = subject.current(user_id)
    assert (cleared.picture, cleared.version) == (None, 2)


def test_set_picture_of_a_missing_profile_is_a_conflict_and_creates_none(
    subject: Subject,
) -> None:
    missing = f"{subject.tag}-nobody"
    with pytest.raises(Conflict):
        subject.table.set_picture(missing, picture(missing), expected_version=0, now=LATER)
    assert subject.table.get(missing) is None


def claimed(pending: DirectUpload, at: datetime = LATER) -> DirectUpload:
    return pending.model_copy(update={"state": UploadState.PROCESSING, "claimed_at": at})


def test_swap_picture_needs_the_same_picture_at_the_expected_revision(subject: Subject) -> None:
    user_id = subject.profile().user_id
    first = picture(user_id)
    with pytest.raises(Conflict):  # no picture at all yet
        subject.table.swap_picture(user_id, first.model_copy(update={"revision": 1}), 0, LATER)
    subject.table.set_picture(user_id, first, expected_version=0, now=CREATED)
    added = first.model_copy(
        update={"revision": 1, "variants": {"100.avif": f"thumbnails/{user_id}/a/100.avif"}}
    )

    subject.table.swap_picture(user_id, added, 0, LATER)

    stored = subject.current(user_id)
    assert (stored.picture, stored.version, stored.updated_at) == (added, 1, LATER)
    rival = first.model_copy(update={"revision": 1, "on_demand": ["200.webp"]})
    with pytest.raises(Conflict):  # read at revision 0, which is gone: a lost race
        subject.table.swap_picture(user_id, rival, 0, LATER + timedelta(seconds=1))
    other = picture(user_id, "c" * 32).model_copy(update={"revision": 2})
    with pytest.raises(Conflict):  # another picture
        subject.table.swap_picture(user_id, other, 1, LATER + timedelta(seconds=1))
    with pytest.raises(Conflict):
        subject.table.swap_picture(f"{subject.tag}-nobody", added, 1, LATER)
    assert subject.current(user_id) == stored


def test_a_direct_upload_replaces_the_last_and_swaps_only_from_what_is_stored(
    subject: Subject,
) -> None:
    user_id = subject.profile().user_id
    first, second = upload(user_id, "1" * 32), upload(user_id, "2" * 32)
    subject.table.start_upload(user_id, first, CREATED)
    subject.table.start_upload(user_id, second, LATER)
    assert subject.current(user_id).upload == second

    with pytest.raises(Conflict):  # no longer the latest
        subject.table.swap_upload(user_id, first, claimed(first), LATER)
    subject.table.swap_upload(user_id, second, claimed(second), LATER)
    with pytest.raises(Conflict):  # no longer pending: a second claim fails
        subject.table.swap_upload(user_id, second, claimed(second), LATER)
    failed = claimed(second).model_copy(
        update={"state": UploadState.FAILED, "error_code": "image_corrupt"}
    )
    subject.table.swap_upload(user_id, claimed(second), failed, LATER + timedelta(seconds=1))

    stored = subject.current(user_id)
    assert (stored.upload, stored.updated_at) == (failed, LATER + timedelta(seconds=1))


def test_a_claim_is_matched_by_its_time_so_only_its_holder_releases_it(subject: Subject) -> None:
    user_id = subject.profile().user_id
    pending = upload(user_id, "1" * 32)
    subject.table.start_upload(user_id, pending, CREATED)
    first = claimed(pending, LATER + timedelta(microseconds=123456))
    subject.table.swap_upload(user_id, pending, first, LATER)

    other = claimed(pending, LATER + timedelta(seconds=1))
    with pytest.raises(Conflict):
        subject.table.swap_upload(user_id, other, pending, LATER)
    assert subject.current(user_id).upload == first
    subject.table.swap_upload(user_id, first, pending, LATER)  # read back, it is equal

    assert subject.current(user_id).upload == pending  # claimed_at gone again


def test_of_concurrent_claims_on_one_upload_exactly_one_wins(serialising: Subject) -> None:
    subject = serialising
    user_id = subject.profile().user_id
    pending = upload(user_id, "1" * 32)
    subject.table.start_upload(user_id, pending, CREATED)
    start = threading.Barrier(CLAIMANTS)
    won: list[int] = []

    def claim(n: int) -> None:
        start.wait()
        try:
            subject.table.swap_upload(
                user_id, pending, claimed(pending, LATER + timedelta(seconds=n)), LATER
            )
        except Conflict:
            return
        won.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(CLAIMANTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(won) == 1
    assert subject.current(user_id).upload == claimed(pending, LATER + timedelta(seconds=won[0]))


def test_publishing_a_claimed_upload_marks_it_done_in_the_same_write_or_not_at_all(
    subject: Subject,
) -> None:
    user_id = subject.profile().user_id
    pending = upload(user_id, "1" * 32)
    subject.table.start_upload(user_id, pending, CREATED)
    claim = claimed(pending)
    subject.table.swap_upload(user_id, pending, claim, LATER)
    taken_over = claimed(pending, LATER + timedelta(minutes=2))

    with pytest.raises(Conflict):  # a claim the profile no longer holds publishes nothing
        subject.table.set_picture(user_id, picture(user_id), 0, LATER, claim=taken_over)
    assert subject.current(user_id).picture is None
    subject.table.set_picture(user_id, picture(user_id), 0, LATER, claim=claim)

    stored = subject.current(user_id)
    assert (stored.picture, stored.version) == (picture(user_id), 1)
    assert stored.upload == claim.model_copy(update={"state": UploadState.DONE})
    with pytest.raises(Conflict):  # done: the same claim cannot publish twice
        subject.table.set_picture(user_id, picture(user_id, "b" * 32), 1, LATER, claim=claim)
    assert subject.current(user_id) == stored


def test_uploads_of_a_missing_profile_are_refused_and_create_none(subject: Subject) -> None:
    missing = f"{subject.tag}-nobody"
    pending = upload(missing, "1" * 32)
    with pytest.raises(UserNotFound):
        subject.table.start_upload(missing, pending, LATER)
    with pytest.raises(Conflict):
        subject.table.swap_upload(missing, pending, claimed(pending), LATER)
    assert subject.table.get(missing) is None


def test_get_many_returns_the_existing_profiles_by_id_for_any_number_of_ids(
    subject: Subject,
) -> None:
    """More ids than one BatchGetItem takes (100), repeats and missing ones among them."""
    mine = {p.user_id: p for p in (subject.profile(f"user{n}") for n in range(3))}
    missing = [f"{subject.tag}-nobody{n}" for n in range(130)]
    wanted = [*missing[:60], *mine, *missing[60:], *mine]

    found = subject.table.get_many(wanted)

    assert found == mine
    assert subject.table.get_many([]) == {}


def test_get_many_of_an_id_the_table_cannot_store_is_bad_request(key_limited: Subject) -> None:
    with pytest.raises(BadRequest):
        key_limited.table.get_many(["x" * 3000])


def test_scan_pages_reach_every_profile_once_behind_opaque_cursors(subject: Subject) -> None:
    mine = {subject.profile(f"user{n}").user_id for n in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page, cursor = subject.table.scan(2, cursor)
        assert len(page) <= 2
        seen.extend(p.user_id for p in page)
        if cursor is None:
            break
        assert subject.tag not in cursor  # opaque: not the raw key
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)


def test_a_cursor_the_table_did_not_hand_out_is_bad_request(subject: Subject) -> None:
    for cursor in ("not-base64!", "eyJ4IjogMX0", "W10"):
        with pytest.raises(BadRequest):
            subject.table.scan(2, cursor)


def test_a_user_id_the_table_cannot_store_is_bad_request(key_limited: Subject) -> None:
    huge = "x" * 3000
    with pytest.raises(BadRequest):
        key_limited.table.get(huge)


def test_ping_answers_and_an_unreachable_table_is_table_unavailable(subject: Subject) -> None:
    subject.table.ping()
    user_id = f"{subject.tag}-ada"
    calls: list[Callable[[], object]] = [
        subject.unreachable.ping,
        lambda: subject.unreachable.get(user_id),
        lambda: subject.unreachable.scan(10, None),
        lambda: subject.unreachable.get_many([user_id]),
        lambda: subject.unreachable.update_fields(user_id, {"display_name": "X"}, LATER),
        lambda: subject.unreachable.set_picture(user_id, None, 0, LATER),
        lambda: subject.unreachable.swap_upload(
            user_id, upload(user_id, "1" * 32), upload(user_id, "1" * 32), LATER
        ),
    ]
    for call in calls:
        with pytest.raises(TableUnavailable):
            call()
