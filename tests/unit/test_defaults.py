"""Default pictures: initials, a colour from the seed, stable ETags, PNGs, 304 negotiation."""

from __future__ import annotations

import pytest
from profilepics import defaults
from profilepics.defaults import DefaultQuery, colour, etag, initials, negotiate, render
from pydantic import ValidationError

from tests.unit import imagegen as gen


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Grace Hopper", "GH"),
        ("grace brewster hopper", "GB"),
        ("ada", "AD"),
        ("x", "X"),
        ("  Ada   Lovelace  ", "AL"),
        ("jean-luc picard", "JP"),
        ("@ada lovelace", "AL"),
        ("- Bob", "BO"),
        ("\U0001f600 bob", "BO"),
        ("\u00e9mile zola", "\u00c9Z"),
        ("\uff21\uff44\uff41", "AD"),  # full-width letters, folded by NFKC
        ("", ""),
        ("   ", ""),
        ("!!! ???", ""),
    ],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_colour_is_deterministic_and_from_the_palette() -> None:
    assert colour("u-123") == colour("u-123")
    assert colour("u-123") in defaults._PALETTE


def test_colour_spreads_over_the_palette() -> None:
    seen = {colour(f"user-{n}") for n in range(200)}
    assert len(seen) >= len(defaults._PALETTE) - 1


def test_etag_is_stable_and_strong() -> None:
    tag = etag("Grace Hopper", "u-1", 128)
    assert tag == etag("Grace Hopper", "u-1", 128)
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")


def test_etag_changes_with_everything_that_changes_the_picture() -> None:
    base = etag("Grace Hopper", "u-1", 128)
    assert etag("Grace Hopper", "u-1", 256) != base
    assert etag("Grace Hopper", "u-2", 128) != base
    assert etag("Ada Lovelace", "u-1", 128) != base
    # Same initials and seed: the same picture, so the same ETag.
    assert etag("Gus Hansen", "u-1", 128) == base


def test_render_is_a_png_of_the_size_on_the_seeds_colour() -> None:
    png = render("Grace Hopper", "u-1", 128)
    img = gen.decode(png)
    assert (img.format, img.size) == ("PNG", (128, 128))
    assert gen.pixel(img.convert("RGB"), (0, 0)) == colour("u-1")
    assert render("Grace Hopper", "u-1", 128) == png  # deterministic bytes


def test_render_draws_the_initials() -> None:
    colours = gen.decode(render("Grace Hopper", "u-1", 64)).convert("RGB").getcolors(1 << 16)
    assert colours is not None
    assert (255, 255, 255) in {rgb for _, rgb in colours}


def test_without_a_name_it_is_the_static_default_whatever_the_seed() -> None:
    one = gen.decode(render("", "u-1", 64)).convert("RGB")
    other = gen.decode(render("", "u-2", 64)).convert("RGB")
    assert gen.pixel(one, (0, 0)) == defaults._STATIC_COLOUR
    assert one.tobytes() == other.tobytes()


def test_without_a_seed_the_colour_comes_from_the_name() -> None:
    img = gen.decode(render("Grace Hopper", "", 64)).convert("RGB")
    assert gen.pixel(img, (0, 0)) == colour("Grace Hopper")


def test_negotiate_renders_without_a_matching_etag() -> None:
    query = DefaultQuery(name="Grace Hopper", seed="u-1", size=64)
    tag, png = negotiate(query, None)
    assert tag == etag("Grace Hopper", "u-1", 64)
    assert png is not None and png.startswith(b"\x89PNG")
    assert negotiate(query, '"something-else"')[1] is not None


@pytest.mark.parametrize(
    "header",
    ["{tag}", "W/{tag}", '"other", {tag}', '"a",{tag} ,"b"', "*"],
)
def test_negotiate_answers_not_modified_for_a_matching_if_none_match(header: str) -> None:
    query = DefaultQuery(name="Grace Hopper", seed="u-1", size=64)
    tag = etag("Grace Hopper", "u-1", 64)
    assert negotiate(query, header.format(tag=tag)) == (tag, None)


def test_query_takes_size_as_text_as_a_query_string_gives_it() -> None:
    query = DefaultQuery.model_validate({"size": "512", "name": "A B"})
    assert query.size == 512
    assert DefaultQuery().size == defaults.DEFAULT_SIZE


@pytest.mark.parametrize(
    "raw",
    [
        {"size": "2048"},
        {"size": "15"},
        {"size": "-64"},
        {"size": "64.5"},
        {"size": "\u0666\u0664"},  # Arabic-Indic digits: isdigit() but not a size
        {"name": "x" * 101},
        {"colour": "red"},
    ],
)
def test_query_refuses_bad_sizes_long_names_and_unknown_parameters(raw: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        DefaultQuery.model_validate(raw)
