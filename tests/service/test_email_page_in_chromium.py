"""The example page's email section in headless Chromium: preferences shown, changed, saved."""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import local_jwt_secret
from tests.service.live import clean_env, running_service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt install chromium")


def test_a_member_turns_the_digest_off_in_the_page(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with running_service(tmp_path, clean_env(GHOSTART_HOME=str(tmp_path))) as url:
        token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="prefs@example.com")
        auth = {"Authorization": f"Bearer {token}"}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(url + "/")
                page.fill("#token", token)
                page.click("#use-token")
                page.click("#new-org")
                expect(page.locator("#pref-notifications")).to_be_checked()
                expect(page.locator("#pref-digest")).to_be_checked()

                page.uncheck("#pref-digest")
                page.click("#save-prefs")
                expect(page.locator("#prefs-saved")).to_have_text("saved")
                expect(page.locator("#error")).to_have_text("")
                assert errors == []
            finally:
                browser.close()
        prefs = httpx.get(url + "/v1/me/email-preferences", headers=auth).json()
        assert prefs["digest"] is False and prefs["notifications"] is True
