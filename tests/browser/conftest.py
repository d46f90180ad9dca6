"""Browser tests: Playwright (sync API) driving the Debian `chromium` against a live server.

Chromium is a system package installed by `make setup` (scripts/install_system_packages.sh); Playwright's own
browser downloads are never used. A missing browser fails the tests with the command that fixes it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )


@pytest.fixture(scope="package")
def browser():
    path = chromium_path()
    if not path:
        pytest.fail(
            "The browser tests need Debian's chromium, which is missing. Run `make setup` as root, or "
            "`apt-get install -y chromium` (or set CHROMIUM_PATH to a Chromium binary).",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The browser tests need the `playwright` package: run `make setup`.", pytrace=False)
    # Playwright's sync API keeps an asyncio loop in this thread; Django's ORM (fixtures, assertions) refuses to run
    # next to a running loop unless told it is safe, which it is here: the loop only talks to the browser.
    # Package scope: the variable is gone before any other test package (it must never reach a deploy check).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, started while MEDIA_URL is a dummy prefix.

    The portal has no public media URL (MEDIA_URL = None), but Django's live server wraps itself in a media-files
    handler that reads MEDIA_URL once, at start. It gets a prefix no page links to, then the setting is restored.
    """
    from django.conf import settings
    from pytest_django.live_server_helper import LiveServer

    saved = settings.MEDIA_URL
    settings.MEDIA_URL = "/__live-server-unused-media-prefix__/"
    try:
        server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "127.0.0.1")
    finally:
        settings.MEDIA_URL = saved
    yield server
    server.stop()


@pytest.fixture
def new_page(browser):
    """new_page(language="en") -> a fresh page whose browser asks for that language (Accept-Language)."""
    contexts = []

    def make(language: str = "en"):
        context = browser.new_context(
            viewport={"width": 1280, "height": 860},
            accept_downloads=True,
            extra_http_headers={"Accept-Language": language},
            locale="zh-CN" if language.lower().startswith("zh") else "en-US",
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves test-artifacts/screenshots/name.png (the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Through the real login page, like a person."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(f"{base_url}/")
