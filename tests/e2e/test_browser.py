"""The try-it page and Swagger UI in headless Chromium, against the real local stack."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import FilePayload, Page, expect

from tests.api_client import accepted, jpeg, profile, put_picture
from tests.stackrun import RunningStack

pytestmark = pytest.mark.e2e
Shoot = Callable[[str], Path]
THUMBNAIL_SIZES = (64, 128, 256, 512)
WATCH_MS = 30_000


def open_profile(page: Page, api: str, user_id: str) -> None:
    page.goto(f"{api}/")
    page.fill("#user-id", user_id)
    page.click("#open")
    expect(page.locator("#who")).to_contain_text(user_id)
    expect(page.locator("#avatar")).to_have_attribute("data-state", "default")


def choose(page: Page, name: str, mime: str, data: bytes) -> None:
    page.set_input_files("#file", files=[FilePayload(name=name, mimeType=mime, buffer=data)])


def avatar_width(page: Page, expected: int | None = None) -> int:
    """The avatar's loaded width; with expected, once it is that (it reloads when ready)."""
    page.wait_for_function(
        "(expected) => { const img = document.querySelector('#avatar');"
        " return img.complete && img.naturalWidth > 0"
        " && (expected === null || img.naturalWidth === expected); }",
        arg=expected,
    )
    width: int = page.eval_on_selector("#avatar", "img => img.naturalWidth")
    return width


def is_presigned(url: str, stack: RunningStack) -> bool:
    store = urlsplit(str(stack.info["s3_endpoint"]))
    parts = urlsplit(url)
    return parts.netloc == store.netloc and "X-Amz-Signature=" in parts.query


def test_creating_a_profile_and_uploading_a_jpeg_shows_the_avatar_from_a_presigned_url(
    page: Page, stack: RunningStack, api: str, shoot: Shoot
) -> None:
    user_id = f"b-{uuid.uuid4().hex[:10]}"
    page.goto(f"{api}/")
    page.fill("#user-id", user_id)
    page.fill("#display-name", "Ada Lovelace")
    page.fill("#email", f"{user_id}@example.com")
    page.click("#create")
    # The session's first writes: both profiles workers may start cold on a busy machine.
    created = page.locator("#message")
    expect(created).to_have_text("Profile created. Choose a picture.", timeout=WATCH_MS)
    assert profile(api, user_id)["picture"] is None

    choose(page, "portrait.jpg", "image/jpeg", jpeg(900, 600))
    with page.expect_response(lambda r: is_presigned(r.url, stack)) as image:
        page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )

    assert image.value.status == 200
    # The box is 256 px: once the variants are ready the avatar is the 256 one, never the
    # 900 px original (which it shows only while they are being made).
    assert avatar_width(page, 256) == 256
    assert "size=256" in (page.get_attribute("#avatar", "src") or "")
    expect(page.locator("#avatar")).to_have_attribute("alt", "Profile picture of Ada Lovelace")
    assert "through the API" in page.inner_text("#route")
    assert profile(api, user_id)["picture"]["format"] == "jpeg"
    shoot("after-upload")


def test_a_jpeg_over_one_mib_goes_straight_to_the_store_by_presigned_post(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    data = jpeg(1200, 800, noise=True)
    assert 1024 * 1024 < len(data) < 5 * 1024 * 1024
    open_profile(page, api, user["user_id"])

    choose(page, "big.jpg", "image/jpeg", data)
    page.evaluate(
        "() => { window.progress = []; const bar = document.querySelector('#progress');"
        " new MutationObserver(() => window.progress.push(bar.value))"
        ".observe(bar, {attributes: true, attributeFilter: ['value']}); }"
    )
    with page.expect_request(lambda r: r.method == "POST" and is_presigned_post(r.url, stack)):
        page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )

    assert page.evaluate("window.progress").pop() == 100
    assert page.inner_text("#route") == "Sent straight to the store (presigned POST)."
    assert avatar_width(page, 256) == 256
    after = profile(api, user["user_id"])
    assert after["upload"]["state"] == "done"
    assert after["picture"]["width"] == 1200
    shoot("after-direct-upload")


def is_presigned_post(url: str, stack: RunningStack) -> bool:
    return url == f"{stack.info['s3_endpoint']}/{stack.bucket}"


def test_a_text_file_named_png_shows_the_unsupported_format_message_and_changes_nothing(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    open_profile(page, api, user["user_id"])
    before = profile(api, user["user_id"])

    choose(page, "notes.png", "image/png", b"just some text, not a picture\n" * 20)
    page.click("#upload")

    error = page.locator("#error")
    expect(error).to_have_text(
        "The file is not an accepted image format (AVIF, GIF, HEIF, JPEG, PNG, WEBP)."
    )
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#message")).to_have_text("")
    expect(page.locator("#avatar")).to_have_attribute("data-state", "default")
    assert profile(api, user["user_id"]) == before
    assert stack.keys(f"originals/{user['user_id']}/") == []
    shoot("unsupported")


def test_a_file_over_the_served_limit_is_refused_before_sending(
    page: Page, api: str, user: dict[str, str]
) -> None:
    limit = requests.get(f"{api}/config.json", timeout=10).json()["max_bytes"]
    open_profile(page, api, user["user_id"])
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method in ("PUT", "POST") else None)

    choose(page, "huge.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(limit))
    page.click("#upload")

    expect(page.locator("#error")).to_contain_text("; the limit is 5 MiB.")
    assert sent == []


def test_thumbnails_appear_when_ready(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    open_profile(page, api, user["user_id"])

    choose(page, "wide.jpg", "image/jpeg", jpeg(1000, 700))
    page.click("#upload")

    thumbnails = page.locator("#thumbnails img.thumbnail")
    expect(thumbnails).to_have_count(len(THUMBNAIL_SIZES), timeout=WATCH_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#thumbnails img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    loaded = thumbnails.evaluate_all(
        "imgs => imgs.map(img => [Number(img.dataset.size), img.naturalWidth, img.currentSrc])"
    )
    assert [(size, width) for size, width, _ in loaded] == [(s, s) for s in THUMBNAIL_SIZES]
    assert all(
        is_presigned(src, stack) and src.split("?")[0].endswith(".webp") for *_, src in loaded
    )
    assert profile(api, user["user_id"])["picture"]["status"] == "ready"
    shoot("thumbnails")


def test_the_avatar_is_a_picture_of_avif_and_webp_sources_from_the_profile_sized_for_its_box(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    open_profile(page, api, user["user_id"])
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/picture?" in r.url else None)

    choose(page, "me.jpg", "image/jpeg", jpeg(900, 600))
    page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )

    sources = page.locator("#avatar-picture source")
    expect(sources).to_have_count(2)
    assert [s.get_attribute("type") for s in sources.all()] == ["image/avif", "image/webp"]
    stored = profile(api, user["user_id"])["picture"]["sources"]
    for source, fmt in zip(sources.all(), ("avif", "webp"), strict=True):
        srcset = source.get_attribute("srcset") or ""
        widths = [item.strip().rsplit(" ", 1)[1] for item in srcset.split(",")]
        assert widths == [f"{size}w" for size in sorted(int(s) for s in stored[fmt])]
        assert source.get_attribute("sizes") == "256px"
    # Chromium shows AVIF: the 256 one for the 256 px box, from the store, not the API.
    assert avatar_width(page, 256) == 256
    shown = page.eval_on_selector("#avatar", "img => img.currentSrc")
    assert is_presigned(shown, stack)
    assert urlsplit(shown).path.split("/")[-1].startswith("256.")
    assert urlsplit(shown).path.endswith(".avif")
    expect(page.locator("#avatar-caption")).to_have_text(
        "JPEG 900×600, ready; shown as AVIF 256 px"
    )
    ready = [url for url in asked if "-ready" in url]
    assert ready == [], "the ready avatar came from the API, not the <picture>'s sources"
    shoot("avatar-picture")


def test_on_a_2x_screen_the_avatar_loads_the_512_variant_for_its_256_px_box(
    page: Page, stack: RunningStack, api: str, user: dict[str, str]
) -> None:
    accepted(put_picture(api, user["user_id"], jpeg(900, 600)))
    deadline = time.monotonic() + WATCH_MS / 1000
    while profile(api, user["user_id"])["picture"]["status"] != "ready":
        assert time.monotonic() < deadline, "the variants were never made"
        time.sleep(0.3)
    cdp = page.context.new_cdp_session(page)
    metrics = {"width": 1100, "height": 1000, "deviceScaleFactor": 2, "mobile": False}
    cdp.send("Emulation.setDeviceMetricsOverride", metrics)

    page.goto(f"{api}/")
    page.fill("#user-id", user["user_id"])
    page.click("#open")
    page.wait_for_function(
        "() => { const img = document.querySelector('#avatar');"
        " return img.complete && img.currentSrc.includes('/thumbnails/'); }"
    )

    shown = urlsplit(page.eval_on_selector("#avatar", "img => img.currentSrc")).path
    assert shown.split("/")[-1].startswith("512.") and shown.endswith(".avif")
    assert page.eval_on_selector("#avatar", "img => img.naturalWidth") == 256  # 512 at 2x
    cdp.send("Emulation.clearDeviceMetricsOverride")


def test_deleting_the_picture_shows_the_generated_default(
    page: Page, stack: RunningStack, api: str, user: dict[str, str], shoot: Shoot
) -> None:
    open_profile(page, api, user["user_id"])
    choose(page, "me.jpg", "image/jpeg", jpeg(400, 400))
    page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )

    with page.expect_response(lambda r: "/pictures/default?" in r.url) as default:
        page.click("#delete")
    expect(page.locator("#message")).to_have_text(
        "Picture deleted: the generated default shows instead."
    )

    assert default.value.status == 200
    assert default.value.header_value("content-type") == "image/png"
    assert avatar_width(page) == 256
    expect(page.locator("#avatar-caption")).to_have_text("no picture: the generated default")
    expect(page.locator("#thumbnails img")).to_have_count(0)
    assert profile(api, user["user_id"])["picture"] is None
    assert stack.keys(f"originals/{user['user_id']}/") == []
    shoot("deleted")


def test_swagger_ui_shows_every_operation_without_leaving_the_machine(
    page: Page, api: str, shoot: Shoot
) -> None:
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    spec = requests.get(f"{api}/openapi.json", timeout=10).json()
    operations = sum(len(methods) for methods in spec["paths"].values())

    page.goto(f"{api}/docs")

    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    tags = page.locator("h3.opblock-tag")
    expect(tags).to_have_count(2)
    assert [tags.nth(i).get_attribute("data-tag") for i in range(2)] == ["profiles", "pictures"]
    page.click("button.authorize")
    dialog = page.locator(".modal-ux")
    expect(dialog).to_contain_text(".venv/bin/profilepics token ada")
    shoot("swagger-authorize")
    page.keyboard.press("Escape")
    assert hosts == {urlsplit(api).netloc}
    shoot("swagger")
