"""A headless Chromium for the page tests, driven by Playwright through the system browser.

Debian's `chromium` package is the browser (`apt-get install chromium`; `.ci/run` installs it
when missing). Without it the page tests skip, saying why, unless NAT_REQUIRE_BROWSER is set (CI
sets it), and then they fail. Every page a test opens records its console errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

#: Flags for a browser in a sandbox with no network beyond loopback (see the env notes).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Tab:
    """An open page and every console error and uncaught exception it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium, or a skip with the reason (a failure when CI requires one).

    One per test: Playwright's sync API runs an asyncio loop in the calling thread while it is
    open, so a browser kept across tests would make `asyncio.run` fail in whichever test runs
    next in that process.
    """
    path = chromium_path()
    if path is None:
        reason = "no Chromium on this machine (apt-get install chromium)"
        if os.environ.get("NAT_REQUIRE_BROWSER"):
            pytest.fail(reason + " and NAT_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def open_tab(browser: Browser, **context_options: Any) -> Iterator[Tab]:
    """A fresh page in a context of its own that records console errors and page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    opened = Tab(context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.errors.append(message.text)

    opened.page.on("console", on_console)
    opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh page that records console errors and page errors."""
    with open_tab(browser) as opened:
        yield opened
