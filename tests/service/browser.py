"""Headless Chromium for the example page's tests: a signed-in page that must raise no errors."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["CHROMIUM", "needs_chromium", "signed_in_page"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt install chromium")


@contextlib.contextmanager
def signed_in_page(url: str, token: str) -> Iterator[Any]:
    """The page at ``url`` signed in with ``token``; at the end, no script error may have occurred."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/")
            page.fill("#token", token)
            page.click("#use-token")
            yield page
            assert errors == []
        finally:
            browser.close()
