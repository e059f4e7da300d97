"""The try-it page as a person meets it: on a phone and a desktop, with a screen reader's
landmarks, plain words for mistakes, and an automated accessibility scan (axe-core)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Route, ViewportSize, expect

from tests.api_client import jpeg
from tests.e2e.test_browser import choose, open_profile
from tests.stackrun import RunningStack, bearer

pytestmark = pytest.mark.e2e
Shoot = Callable[[str], Path]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "desktop"])
WATCH_MS = 30_000


def new_user(api: str, name: str = "Grace Hopper") -> dict[str, str]:
    user_id = f"w-{uuid.uuid4().hex[:10]}"
    body = {"user_id": user_id, "display_name": name, "email": f"{user_id}@example.com"}
    response = requests.post(f"{api}/users", json=body, headers=bearer(user_id), timeout=10)
    assert response.status_code == 201, response.text
    return body


def horizontal_overflow(page: Page) -> int:
    overflow: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def off_screen(page: Page, selectors: list[str]) -> list[str]:
    """The visible elements among selectors that stick out of the viewport's width."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    outside = []
    for selector in selectors:
        for box in (item.bounding_box() for item in page.locator(selector).all()):
            if box is not None and (box["x"] < 0 or box["x"] + box["width"] > width + 0.5):
                outside.append(selector)
    return outside


def uploaded_profile(page: Page, api: str, user: dict[str, str]) -> None:
    open_profile(page, api, user["user_id"])
    choose(page, "me.jpg", "image/jpeg", jpeg(900, 600))
    page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )


@WIDTHS
def test_the_page_works_at_phone_and_desktop_widths(
    page: Page, api: str, shoot: Shoot, viewport: ViewportSize
) -> None:
    page.set_viewport_size(viewport)
    user = new_user(api)

    page.goto(f"{api}/")
    assert horizontal_overflow(page) <= 0
    assert off_screen(page, ["input", "select", "button", "h1", "p"]) == []
    shoot(f"{viewport['width']}px-start")

    uploaded_profile(page, api, user)

    assert horizontal_overflow(page) <= 0
    controls = ["#user-id", "#display-name", "#email", "#file", "#upload", "#delete", "#avatar"]
    assert off_screen(page, controls) == []
    assert off_screen(page, ["#thumbnails img"]) == []
    shoot(f"{viewport['width']}px-uploaded")


def axe_violations(page: Page, api: str) -> list[dict[str, Any]]:
    """axe-core run in the page: the script is served from the page's own origin (by routing
    a made-up path), so the page's Content-Security-Policy stays as it is."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci in tests/e2e)")
    url = f"{api}/__test/axe.min.js"

    def serve(route: Route) -> None:
        route.fulfill(path=str(AXE), content_type="text/javascript")

    page.route(url, serve)
    page.add_script_tag(url=url)
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return found


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@WIDTHS
def test_an_accessibility_scan_finds_nothing_serious(
    page: Page, stack: RunningStack, api: str, shoot: Shoot, viewport: ViewportSize
) -> None:
    page.set_viewport_size(viewport)
    user = new_user(api, "Katherine Johnson")

    page.goto(f"{api}/")
    expect(page.locator("#pick option")).not_to_have_count(1)
    assert serious(axe_violations(page, api)) == []

    page.click("#create")  # empty: the error is shown
    expect(page.locator("#profile-error")).not_to_be_empty()
    assert serious(axe_violations(page, api)) == []

    uploaded_profile(page, api, user)
    page.evaluate("document.querySelector('#progress').hidden = false")
    page.evaluate("document.querySelector('details').open = true")
    assert serious(axe_violations(page, api)) == []
    shoot(f"{viewport['width']}px-scanned")


def test_every_control_has_a_name_and_the_messages_their_roles(
    page: Page, api: str, user: dict[str, str]
) -> None:
    open_profile(page, api, user["user_id"])

    for label in ("User id", "Name", "Choose a picture", "Upload progress"):
        expect(page.get_by_label(label, exact=False).first).to_be_attached()
    expect(page.get_by_label("Bearer token for the chosen user")).to_be_attached()
    expect(page.locator("#message")).to_have_attribute("role", "status")
    expect(page.locator("#error")).to_have_attribute("role", "alert")
    expect(page.locator("#profile-error")).to_have_attribute("role", "alert")
    expect(page.locator("#avatar")).to_have_attribute(
        "alt", f"{user['display_name']}'s initials (no picture yet)"
    )
    icon = page.get_attribute("link[rel=icon]", "href")
    assert icon is not None
    favicon = requests.get(f"{api}{icon}", timeout=10)
    assert favicon.status_code == 200 and favicon.headers["Content-Type"] == "image/svg+xml"


def test_empty_fields_are_caught_in_plain_words_before_anything_is_sent(
    page: Page, api: str
) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.goto(f"{api}/")
    expect(page.locator("#pick option")).not_to_have_count(0)
    error = page.locator("#profile-error")

    page.click("#create")
    expect(error).to_have_text("Enter a user id, such as ada.")
    expect(page.locator("#user-id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#user-id")).to_be_focused()

    page.fill("#user-id", "has space")
    page.click("#create")
    expect(error).to_contain_text("A user id starts with a letter or digit")

    page.fill("#user-id", "ada-new")
    page.click("#create")
    expect(error).to_have_text("Enter a name, such as Ada Lovelace.")
    expect(page.locator("#display-name")).to_be_focused()

    page.fill("#display-name", "Ada")
    page.click("#create")
    expect(error).to_have_text("Enter an e-mail address, such as ada@example.com.")

    page.fill("#email", "not-an-address")
    page.click("#create")
    expect(error).to_contain_text("is not an e-mail address")

    page.fill("#user-id", "")
    page.click("#open")
    expect(error).to_have_text("Enter the user id of the profile to open.")
    assert sent == []


def test_a_duplicate_create_offers_to_open_the_existing_profile(page: Page, api: str) -> None:
    existing = new_user(api, "Mary Jackson")
    page.goto(f"{api}/")
    page.fill("#user-id", existing["user_id"])
    page.fill("#display-name", "Someone Else")
    page.fill("#email", "else@example.com")

    page.click("#create")

    expect(page.locator("#profile-error")).to_contain_text(
        f"A profile “{existing['user_id']}” already exists. Open it instead?"
    )
    page.click("#open-existing")
    expect(page.locator("#who")).to_have_text(f"Mary Jackson ({existing['user_id']})")
    expect(page.locator("#display-name")).to_have_value("Mary Jackson")
    expect(page.locator("#profile-error")).to_be_empty()


def test_picking_a_profile_fills_the_form_with_its_private_email(page: Page, api: str) -> None:
    user = new_user(api, "Dorothy Vaughan")
    page.goto(f"{api}/")
    expect(page.locator(f"#pick option[value='{user['user_id']}']")).to_be_attached()

    page.select_option("#pick", user["user_id"])

    expect(page.locator("#user-id")).to_have_value(user["user_id"])
    expect(page.locator("#display-name")).to_have_value("Dorothy Vaughan")
    expect(page.locator("#email")).to_have_value(user["email"])  # from GET /me, with its token
    expect(page.locator("#who")).to_contain_text("Dorothy Vaughan")


def test_a_status_says_the_server_is_at_work_until_it_answers(
    page: Page, api: str, user: dict[str, str]
) -> None:
    open_profile(page, api, user["user_id"])
    page.evaluate(
        "() => { window.said = []; const m = document.querySelector('#message');"
        " new MutationObserver(() => window.said.push(m.textContent))"
        ".observe(m, {childList: true, characterData: true, subtree: true}); }"
    )
    choose(page, "me.jpg", "image/jpeg", jpeg(1600, 1200))

    page.click("#upload")
    expect(page.locator("#message")).to_have_text(
        "Uploaded; the thumbnails are ready.", timeout=WATCH_MS
    )

    said = [text for text in page.evaluate("window.said") if text]
    checking = said.index("Sent. The server is checking and cleaning the picture …")
    making = said.index("Uploaded. Making the thumbnails …")
    assert checking < making < said.index("Uploaded; the thumbnails are ready.")
    expect(page.locator("#progress")).to_be_hidden()
