"""The example page's email section in headless Chromium: preferences shown, changed, saved."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import httpx

from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import local_jwt_secret
from tests.service.browser import needs_chromium, signed_in_page
from tests.service.live import clean_env, running_service

pytestmark = needs_chromium


def test_a_member_turns_the_digest_off_in_the_page(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with running_service(tmp_path, clean_env(GHOSTART_HOME=str(tmp_path))) as url:
        token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="prefs@example.com")
        auth = {"Authorization": f"Bearer {token}"}
        with signed_in_page(url, token) as page:
            page.click("#new-org")
            expect(page.locator("#pref-notifications")).to_be_checked()
            expect(page.locator("#pref-digest")).to_be_checked()

            page.uncheck("#pref-digest")
            page.click("#save-prefs")
            expect(page.locator("#prefs-saved")).to_have_text("saved")
            expect(page.locator("#error")).to_have_text("")
        prefs = httpx.get(url + "/v1/me/email-preferences", headers=auth).json()
        assert prefs["digest"] is False and prefs["notifications"] is True


def test_a_preferences_load_that_answers_late_does_not_undo_the_members_click(
    tmp_path: Path,
) -> None:
    """A second load of the preferences (creating an organization signs in again) may answer late.

    CI once saw it land after the click, re-check the box, and the save send the old value.
    """
    from playwright.sync_api import Route, expect

    with running_service(tmp_path, clean_env(GHOSTART_HOME=str(tmp_path))) as url:
        token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="late@example.com")
        with signed_in_page(url, token) as page:
            expect(page.locator("#pref-digest")).to_be_checked()  # the first load is done
            held: list[Route] = []

            def hold(route: Route) -> None:  # the test lets it answer, after the click
                if route.request.method == "GET":
                    held.append(route)
                else:
                    route.continue_()

            page.route("**/v1/me/email-preferences", hold)
            page.click("#new-org")
            while not held:  # signing in again asks for the preferences
                page.wait_for_timeout(20)
            page.uncheck("#pref-digest")
            # The held load answers now; the page applies it, then asks for the recent emails.
            with page.expect_response("**/v1/email/recent"):
                held[0].continue_()
            expect(page.locator("#pref-digest")).not_to_be_checked()
            page.click("#save-prefs")
            expect(page.locator("#prefs-saved")).to_have_text("saved")
        auth = {"Authorization": f"Bearer {token}"}
        prefs = httpx.get(url + "/v1/me/email-preferences", headers=auth).json()
        assert prefs["digest"] is False and len(held) == 1
