"""Signed and default picture URLs: window-aligned signing so a URL is stable and cacheable."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from profilepics.clock import Clock, utcnow
from profilepics.defaults import MAX_SIZE, MIN_SIZE
from profilepics.ports import ObjectStore


class UrlSigner:
    """Hands out one presigned URL per key per time window, from a small in-process cache.

    Signing with the window's start as the request date makes the URL byte-identical for
    the whole window, so browsers and CDNs can cache the image; the URL then lives between
    expiry - window and expiry seconds.
    """

    def __init__(
        self,
        store: ObjectStore,
        expiry_seconds: int,
        window_seconds: int,
        clock: Clock = utcnow,
        cache_size: int = 4096,
    ) -> None:
        self._store = store
        self._expiry = expiry_seconds
        self._window = window_seconds
        self._clock = clock
        self._cache: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def sign(self, key: str) -> tuple[str, datetime]:
        """The URL for key and the moment it stops working."""
        now = int(self._clock().timestamp())
        start = now - now % self._window
        expires_at = datetime.fromtimestamp(start + self._expiry, UTC)
        with self._lock:
            url = self._cache.get((key, start))
            if url is not None:
                self._cache.move_to_end((key, start))
                return url, expires_at
        url = self._store.presign_get(key, self._expiry, datetime.fromtimestamp(start, UTC))
        with self._lock:
            self._cache[(key, start)] = url
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return url, expires_at

    def remaining(self, expires_at: datetime) -> timedelta:
        return max(expires_at - self._clock(), timedelta(0))


def default_picture_url(api_base_url: str, user_id: str, name: str, size: str) -> str:
    """The generated default picture for a user without one (initials on a colour)."""
    query = {"name": name, "seed": user_id}
    if size.isascii() and size.isdigit() and MIN_SIZE <= int(size) <= MAX_SIZE:
        query["size"] = size  # the original and the animated size get the default's own
    return f"{api_base_url.rstrip('/')}/pictures/default?{urlencode(query)}"
