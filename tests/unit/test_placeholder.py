"""The ThumbHash placeholder: byte for byte the reference's (npm thumbhash, run in node), and it
decodes to the picture's colours."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from profilepics import placeholder

from tests.unit import imagegen as gen

REFERENCE = Path(__file__).parents[2] / "infra/web/node_modules/thumbhash/thumbhash.js"


def reference(cases: list[dict[str, object]], decode: list[str]) -> dict[str, list[object]]:
    node = shutil.which("node")
    assert node, "node is part of `make setup` (the page's packages and dynalite need it)"
    script = f"""
import {{ rgbaToThumbHash, thumbHashToRGBA }} from {json.dumps(REFERENCE.as_uri())};
let input = "";
for await (const chunk of process.stdin) input += chunk;
const {{ cases, decode }} = JSON.parse(input);
const hashes = cases.map(({{ w, h, rgba }}) =>
  Buffer.from(rgbaToThumbHash(w, h, Buffer.from(rgba, "base64"))).toString("base64"));
const images = decode.map((hash) => {{
  const {{ w, h, rgba }} = thumbHashToRGBA(Buffer.from(hash, "base64"));
  return {{ w, h, rgba: Buffer.from(rgba).toString("base64") }};
}});
console.log(JSON.stringify({{ hashes, images }}));
"""
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps({"cases": cases, "decode": decode}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, list[object]] = json.loads(done.stdout)
    return answer


def two_colours(width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height), gen.RED)
    ImageDraw.Draw(img).rectangle((width // 2, 0, width, height), fill=gen.BLUE)
    return img


def see_through(size: int = 48) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((8, 8, size - 8, size - 8), fill=(20, 160, 60, 255))
    return img


PICTURES: dict[str, Callable[[], Image.Image]] = {
    "photo": lambda: gen.photo(64, 64),
    "portrait": lambda: gen.photo(24, 64),
    "landscape": lambda: gen.photo(100, 40),
    "two colours": lambda: two_colours(64, 64),
    "transparent circle": see_through,
    "one pixel": lambda: Image.new("RGB", (1, 1), (200, 100, 50)),
}


def small_rgba(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    if max(rgba.size) > placeholder.MAX_SIDE:
        rgba.thumbnail((placeholder.MAX_SIDE, placeholder.MAX_SIDE), Image.Resampling.BOX)
    return rgba


def test_our_thumbhash_is_the_references_byte_for_byte() -> None:
    """Exactly, but where a term is zero in exact arithmetic (a picture of flat halves): it is
    then +-1e-17 of noise whose sign V8's and libm's cosines may decide differently, so its
    nibble may round to 7 or 8."""
    images = {name: small_rgba(make()) for name, make in PICTURES.items()}
    cases = [
        {"w": img.width, "h": img.height, "rgba": base64.b64encode(img.tobytes()).decode()}
        for img in images.values()
    ]
    expected = reference(cases, [])["hashes"]
    for (name, img), theirs in zip(images.items(), expected, strict=True):
        ours = placeholder.thumbhash(img)
        assert isinstance(theirs, str)
        if name != "two colours":
            assert base64.b64encode(ours).decode() == theirs, name
            continue
        reference_bytes = base64.b64decode(theirs)
        assert ours[:5] == reference_bytes[:5]  # header: mean colour, scales, shape
        nibbles = [(b >> s) & 15 for b in ours[5:] for s in (0, 4)]
        reference_nibbles = [(b >> s) & 15 for b in reference_bytes[5:] for s in (0, 4)]
        assert all(abs(a - b) <= 1 for a, b in zip(nibbles, reference_nibbles, strict=True))


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_a_two_colour_variants_placeholder_decodes_to_its_colours(fmt: str) -> None:
    """Left red, right blue: the reference's decode of our string has them where they were."""
    encoded = placeholder.encode(gen.encode(two_colours(64, 64), fmt, quality=90))
    assert 20 <= len(encoded) <= 40 and "=" not in encoded
    padded = encoded + "=" * (-len(encoded) % 4)
    decoded = reference([], [padded])["images"][0]
    assert isinstance(decoded, dict)
    img = Image.frombytes("RGBA", (decoded["w"], decoded["h"]), base64.b64decode(decoded["rgba"]))
    left, right = img.getpixel((2, img.height // 2)), img.getpixel((img.width - 3, img.height // 2))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[0] > 150 and left[2] < 100, left
    assert right[2] > 150 and right[0] < 100, right
    r, g, b, a = placeholder.average_rgba(encoded)
    assert abs(r - 0.5) < 0.1 and g < 0.1 and abs(b - 0.5) < 0.1 and a == 1.0


def test_a_transparent_pictures_placeholder_keeps_its_alpha() -> None:
    encoded = placeholder.encode(gen.encode(see_through(), "PNG"))
    r, g, b, a = placeholder.average_rgba(encoded)
    assert a < 1.0
    assert g > r and g > b
