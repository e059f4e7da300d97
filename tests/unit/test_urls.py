"""Window-aligned signing: one URL per key per window, cached, with the right expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from profilepics.adapters.minio_store import MinioStore
from profilepics.config import Settings
from profilepics.urls import UrlSigner, default_picture_url

from tests.fakes import FakeStore

KEY = "originals/ada/0123456789abcdef0123456789abcdef.jpg"
EXPIRY, WINDOW = 3600, 600
WINDOW_START = datetime(2030, 1, 1, 12, 10, tzinfo=UTC)  # a multiple of 600 s since the epoch


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def signer(clock: Clock, store: FakeStore | None = None, cache_size: int = 4096) -> UrlSigner:
    return UrlSigner(store or FakeStore(), EXPIRY, WINDOW, clock=clock, cache_size=cache_size)


def test_same_key_within_a_window_gives_the_byte_identical_url() -> None:
    clock = Clock(WINDOW_START + timedelta(seconds=1))
    urls = signer(clock)
    first, _ = urls.sign(KEY)
    clock.now = WINDOW_START + timedelta(seconds=WINDOW - 1)
    assert urls.sign(KEY)[0] == first


def test_separate_signers_agree_within_a_window() -> None:
    """Each function instance has its own cache; the URL must not depend on which one answers."""
    one = signer(Clock(WINDOW_START + timedelta(seconds=5)))
    other = signer(Clock(WINDOW_START + timedelta(seconds=595)))
    assert one.sign(KEY) == other.sign(KEY)


def test_next_window_gives_a_new_url_signed_at_its_start() -> None:
    clock = Clock(WINDOW_START + timedelta(seconds=WINDOW - 1))
    store = FakeStore()
    urls = signer(clock, store)
    first, first_expiry = urls.sign(KEY)
    clock.now = WINDOW_START + timedelta(seconds=WINDOW)
    second, second_expiry = urls.sign(KEY)

    assert second != first
    assert second_expiry - first_expiry == timedelta(seconds=WINDOW)
    assert [signed_at for _, _, signed_at in store.presigned] == [
        WINDOW_START,
        WINDOW_START + timedelta(seconds=WINDOW),
    ]


def test_a_cache_hit_does_not_call_the_store() -> None:
    store = FakeStore()
    urls = signer(Clock(WINDOW_START + timedelta(seconds=30)), store)
    for _ in range(5):
        urls.sign(KEY)
    assert store.presigned == [(KEY, EXPIRY, WINDOW_START)]


def test_different_keys_get_different_urls() -> None:
    urls = signer(Clock(WINDOW_START))
    assert urls.sign(KEY)[0] != urls.sign(KEY.replace("ada", "bob"))[0]


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    store = FakeStore()
    urls = signer(Clock(WINDOW_START), store, cache_size=2)
    urls.sign("a")
    urls.sign("b")
    urls.sign("a")  # a is now the most recent
    urls.sign("c")  # evicts b
    urls.sign("a")
    urls.sign("b")
    assert [key for key, _, _ in store.presigned] == ["a", "b", "c", "b"]


@pytest.mark.parametrize("into_window", [0, 1, 299, 599])
def test_expires_at_is_window_start_plus_expiry(into_window: int) -> None:
    now = WINDOW_START + timedelta(seconds=into_window)
    _, expires_at = signer(Clock(now)).sign(KEY)
    assert expires_at == WINDOW_START + timedelta(seconds=EXPIRY)
    life = expires_at - now
    assert timedelta(seconds=EXPIRY - WINDOW) < life <= timedelta(seconds=EXPIRY)


def test_remaining_life_counts_down_and_stops_at_zero() -> None:
    clock = Clock(WINDOW_START + timedelta(seconds=100))
    urls = signer(clock)
    _, expires_at = urls.sign(KEY)
    assert urls.remaining(expires_at) == timedelta(seconds=EXPIRY - 100)
    clock.now = expires_at + timedelta(seconds=5)
    assert urls.remaining(expires_at) == timedelta(0)


def test_real_sigv4_url_is_signed_for_the_public_endpoint_at_the_window_start() -> None:
    settings = Settings(
        s3_endpoint="http://10.0.0.9:9000",
        public_s3_endpoint="https://pictures.example.com",
        s3_access_key="AKIDEXAMPLE",
        s3_secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    clock = Clock(WINDOW_START + timedelta(seconds=42))
    # Region set: no GetBucketLocation, so no server is contacted while signing.
    url, _ = UrlSigner(MinioStore(settings), EXPIRY, WINDOW, clock=clock).sign(KEY)
    again, _ = UrlSigner(MinioStore(settings), EXPIRY, WINDOW, clock=clock).sign(KEY)

    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "pictures.example.com",
        f"/profilepics/{KEY}",
    )
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Date"] == "20300101T121000Z"
    assert query["X-Amz-Expires"] == str(EXPIRY)
    assert query["X-Amz-SignedHeaders"] == "host"
    assert len(query["X-Amz-Signature"]) == 64
    assert again == url


def test_default_picture_url_carries_name_seed_and_size() -> None:
    url = default_picture_url("https://api.test/", "ada", "Ada & Co", "64")
    assert url == "https://api.test/pictures/default?name=Ada+%26+Co&seed=ada&size=64"
    assert "size" not in default_picture_url("https://api.test", "ada", "Ada", "original")


@pytest.mark.parametrize(
    ("size", "carried"),
    [("16", True), ("1024", True), ("15", False), ("1025", False), ("٦٤", False)],
)
def test_a_default_picture_url_carries_only_a_size_the_default_can_draw(
    size: str, carried: bool
) -> None:
    """The default draws 16 to 1024 pixels, both included; any other size, or digits that are
    not ASCII, gets the default's own size rather than a URL it would refuse."""
    url = default_picture_url("https://api.test", "ada", "Ada", size)

    assert url.endswith(f"&size={size}") is carried
    assert ("size=" in url) is carried
