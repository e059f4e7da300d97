"""Choosing a variant's format from Accept: explicit names, q-values, and JPEG for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from profilepics.accept import negotiate
from profilepics.formats import NEGOTIATED, ImageFormat

AVIF, WEBP, JPEG = ImageFormat.AVIF, ImageFormat.WEBP, ImageFormat.JPEG
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
SAFARI = "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,*/*;q=0.5"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (CHROME, AVIF),
        (FIREFOX, AVIF),
        (SAFARI, AVIF),  # a tie at q=1: AVIF is the better of the two
        ("image/webp,*/*", WEBP),  # Safari 14-15, Edge Legacy
        ("*/*", JPEG),  # curl, e-mail clients, old tools: wildcards never promise AVIF or WebP
        ("image/*", JPEG),
        ("", JPEG),
        ("text/html", JPEG),  # nothing acceptable: JPEG rather than a 406 for an <img>
        ("image/avif;q=0.5, image/webp", WEBP),
        ("image/avif;q=0.9, image/webp;q=0.8, image/jpeg", JPEG),
        ("image/avif;q=0, image/webp;q=0.1", WEBP),
        ("IMAGE/AVIF; Q=0.7, image/webp;q=0.6", AVIF),  # names are case-insensitive
        ("image/webp;q=1.5, image/avif;q=0.2", AVIF),  # a q over 1 is no q-value: skipped
        ("image/webp;q=nan, image/jpeg", JPEG),
        ("image/jpeg;q=0, image/webp;q=0.01", WEBP),
        ("image/avif;q=0.5, image/avif;q=1, image/webp;q=0.6", WEBP),  # the first one counts
        ("image/avif ; q = 0.4 , image/webp ; q=0.3", AVIF),
    ],
)
def test_the_best_acceptable_format_is_chosen(accept: str, expected: ImageFormat) -> None:
    assert negotiate(accept, NEGOTIATED) is expected


def test_only_the_offered_formats_are_chosen() -> None:
    assert negotiate(CHROME, (WEBP, JPEG)) is WEBP  # a deployment without AVIF variants
    assert negotiate("image/avif", (WEBP, JPEG)) is JPEG


@given(st.text(max_size=300))
def test_any_header_gives_an_offered_format_or_jpeg(accept: str) -> None:
    assert negotiate(accept, NEGOTIATED) in NEGOTIATED
