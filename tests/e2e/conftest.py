"""Browser fixtures: Playwright driving Debian's Chromium, with a fresh profile per module."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CALL_FAILED = pytest.StashKey[bool]()
# A function's first call starts its worker (imports and all): seconds on a busy 2-core
# machine, past expect()'s own 5 s default.
expect.set_options(timeout=15_000)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    # Never `playwright install`: it downloads a browser of its own, which can't work here.
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 1000},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


class PageErrors:
    """Uncaught script errors and CSP refusals seen by a page: a passing test has none."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on("pageerror", lambda error: self.seen.append(f"script error: {error}"))
        page.on("console", self._console)

    def _console(self, message: object) -> None:
        text = str(getattr(message, "text", ""))
        if "Content Security Policy" in text:
            self.seen.append(f"CSP: {text}")


@pytest.fixture
def page(browser: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = browser.new_page()
    errors = PageErrors(page)
    try:
        yield page
        assert errors.seen == [], errors.seen
    finally:
        if request.node.stash.get(CALL_FAILED, True):
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"{_safe(request.node.name)}-failed.png"
            page.screenshot(path=str(shot), full_page=True)
        page.close()


@pytest.fixture
def shoot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Keeps a picture of the page as a test artifact (test-artifacts/ is git-ignored)."""

    def take(step: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{_safe(request.node.name)}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)
