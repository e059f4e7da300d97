"""The page's crop box in headless Chromium on the real stack: dragged and moved by keyboard,
the upload carries the square, the variant shows it, and the placeholder is painted."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from tests.api_client import profile
from tests.e2e.test_browser import WATCH_MS, Shoot, choose, open_profile
from tests.e2e.test_page import axe_violations, serious
from tests.stackrun import RunningStack
from tests.unit import imagegen as gen
from tests.unit.test_crop import quadrants

pytestmark = pytest.mark.e2e


def readout(page: Page) -> str:
    return page.inner_text("#crop-readout")


def box_centre(page: Page) -> tuple[float, float]:
    found = page.locator("#crop-box").bounding_box()
    assert found is not None
    return found["x"] + found["width"] / 2, found["y"] + found["height"] / 2


def stage_corner(page: Page) -> tuple[float, float]:
    found = page.locator("#crop-stage").bounding_box()
    assert found is not None
    return found["x"] + found["width"], found["y"]


def test_the_crop_box_is_dragged_and_nudged_by_keyboard_and_the_variant_shows_its_square(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    """Red left half, blue right, the top-right quarter green: the 256 variant must be green."""
    user_id = user["user_id"]
    open_profile(page, api, user_id)
    choose(page, "quadrants.png", "image/png", gen.encode(quadrants(600), "PNG"))
    expect(page.locator("#cropper")).to_be_visible()
    expect(page.locator("#crop-readout")).to_have_text(
        "Square 600×600 at (0, 0) of the 600×600 picture."
    )

    page.locator("#crop-zoom").fill("2")  # the slider: half the side, about the same centre
    expect(page.locator("#crop-readout")).to_have_text(
        "Square 300×300 at (150, 150) of the 600×600 picture."
    )
    # Drag it far past the top-right corner: it stops at the picture's edges.
    x, y = box_centre(page)
    corner_x, corner_y = stage_corner(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(corner_x + 80, corner_y - 80, steps=8)
    page.mouse.up()
    assert readout(page) == "Square 300×300 at (300, 0) of the 600×600 picture."
    expect(page.locator("#crop-box")).to_be_focused()

    # The keyboard: a step is 1% of the picture (6 px), Shift 10%; + and - zoom.
    box = page.locator("#crop-box")
    box.press("ArrowLeft")
    box.press("ArrowDown")
    assert readout(page) == "Square 300×300 at (294, 6) of the 600×600 picture."
    box.press("Shift+ArrowLeft")
    assert readout(page) == "Square 300×300 at (234, 6) of the 600×600 picture."
    box.press("-")  # zoom out around the middle, then back in
    box.press("+")
    for _ in range(3):
        box.press("Shift+ArrowRight")
        box.press("Shift+ArrowUp")
    assert readout(page) == "Square 300×300 at (300, 0) of the 600×600 picture."
    preview = page.eval_on_selector("#crop-preview", "e => e.style.backgroundPosition")
    assert preview == "-96px 0px"  # the round preview shows the same square
    shoot("cropped")

    with page.expect_request(lambda r: r.method == "PUT" and "crop=300,0,300,300" in r.url):
        page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )
    expect(page.locator("#cropper")).to_be_hidden()
    picture = profile(api, user_id)["picture"]
    assert picture["crop"] == {"x": 300, "y": 0, "w": 300, "h": 300}
    variant = requests.get(picture["variants"]["256"], timeout=10)
    img = Image.open(io.BytesIO(variant.content))
    for xy in ((3, 3), (252, 252), (128, 128)):
        r, g, b = gen.pixel(img, xy)[:3]
        assert g > 200 and r < 60 and b < 60, xy

    # The placeholder is painted behind the avatar (and the thumbnails) from the profile's hash.
    avatar = page.locator("#avatar")
    expect(avatar).to_have_attribute("data-placeholder", picture["placeholder"])
    painted = page.eval_on_selector("#avatar", "e => e.style.backgroundImage")
    assert painted.startswith('url("data:image/png;base64,')
    assert serious(axe_violations(page, api)) == []
    shoot("uploaded")


def test_a_heic_the_browser_cannot_show_is_uploaded_without_a_crop_box(
    page: Page, stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    user_id = user["user_id"]
    open_profile(page, api, user_id)
    choose(page, "IMG_0001.HEIC", "", gen.heic_oriented(gen.marked(160, 80), 6))
    expect(page.locator("#crop-note")).to_contain_text("the server will choose its square")
    expect(page.locator("#cropper")).to_be_hidden()
    with page.expect_request(
        lambda r: r.method == "PUT" and r.headers.get("content-type") == "image/heic"
    ):
        page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )
    picture = profile(api, user_id)["picture"]
    assert (picture["format"], picture["width"], picture["height"]) == ("jpeg", 160, 80)
    assert picture["crop"] == {"x": 40, "y": 0, "w": 80, "h": 80}


def test_adjust_crop_recrops_the_stored_picture_by_patch_and_the_page_shows_the_new_square(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    user_id = user["user_id"]
    open_profile(page, api, user_id)
    expect(page.locator("#adjust-crop")).to_be_disabled()  # no picture yet
    choose(page, "quadrants.png", "image/png", gen.encode(quadrants(600), "PNG"))
    page.click("#upload")  # the whole square, as chosen
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )
    originals = stack.keys(f"originals/{user_id}/")

    # Cancel changes nothing.
    page.click("#adjust-crop")
    expect(page.locator("#cropper")).to_be_visible()
    page.click("#cancel-crop")
    expect(page.locator("#cropper")).to_be_hidden()

    page.click("#adjust-crop")
    expect(page.locator("#cropper")).to_be_visible()
    expect(page.locator("#recrop-buttons")).to_be_visible()
    expect(page.locator("#crop-box")).to_be_focused()
    expect(page.locator("#crop-readout")).to_have_text(
        "Square 600×600 at (0, 0) of the 600×600 picture."  # the picture's current square
    )
    box = page.locator("#crop-box")
    for _ in range(8):  # + zooms in by a tenth: 600 / 1.1^8 = 280
        box.press("+")
    for _ in range(5):
        box.press("Shift+ArrowRight")
        box.press("Shift+ArrowUp")
    expect(page.locator("#crop-readout")).to_have_text(
        "Square 280×280 at (320, 0) of the 600×600 picture."
    )
    assert serious(axe_violations(page, api)) == []
    with page.expect_request(lambda r: r.method == "PATCH") as sent:
        page.click("#save-crop")
    assert sent.value.post_data_json == {"crop": {"x": 320, "y": 0, "w": 280, "h": 280}}
    expect(page.locator("#message")).to_have_text(
        "Crop saved; the thumbnails show the new square.", timeout=WATCH_MS
    )
    expect(page.locator("#cropper")).to_be_hidden()

    picture = profile(api, user_id, fresh=True)["picture"]
    assert picture["crop"] == {"x": 320, "y": 0, "w": 280, "h": 280}
    assert stack.keys(f"originals/{user_id}/") == originals  # no new upload
    img = Image.open(io.BytesIO(requests.get(picture["variants"]["256"], timeout=10).content))
    for xy in ((3, 3), (252, 252), (128, 128)):
        r, g, b = gen.pixel(img, xy)[:3]
        assert g > 200 and r < 60 and b < 60, xy
    # The page shows the new set: the thumbnails, the avatar's sources and the placeholder.
    shown = page.get_attribute("#thumbnails img[data-size='256']", "src")
    assert shown is not None and ".c1-" in shown.split("?")[0]
    srcset = page.get_attribute("#avatar-picture source", "srcset")
    assert srcset is not None and ".c1-" in srcset
    expect(page.locator("#avatar")).to_have_attribute("data-placeholder", picture["placeholder"])
    shoot("recropped")
