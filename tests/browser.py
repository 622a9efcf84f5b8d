"""Debian Chromium for the browser tests, launched once per test session.

Registered as a pytest plugin (``tests/conftest.py``). Playwright's sync API runs its own event
loop, so a second ``sync_playwright()`` while one is open fails: every browser test uses this one
``browser`` and opens its own context.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

# Without the background-networking flags Chromium keeps dialling Google, which this closed
# network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "ja-JP"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is missing: run `make install` (or `apt-get install -y chromium`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
