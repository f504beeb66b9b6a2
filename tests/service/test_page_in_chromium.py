"""The example's web page in headless Chromium: sign in, request a post, watch it, edit, publish.

Uses Debian's ``chromium`` (``.ci/run`` installs it) driven by Playwright; no browser download.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import httpx

from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import local_jwt_secret
from tests.service.browser import needs_chromium, signed_in_page
from tests.service.live import clean_env, running_service

pytestmark = needs_chromium


def test_a_user_requests_watches_edits_approves_and_publishes_a_post_in_the_page(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    with running_service(tmp_path, clean_env(GHOSTART_HOME=str(tmp_path))) as url:
        token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="page@example.com")
        with signed_in_page(url, token) as page:
            expect(page.locator("#who")).to_have_text("page@example.com")
            page.click("#new-org")  # a new user has no organization yet
            expect(page.locator("#org option")).to_have_count(1)

            page.fill("#topic", "Why our team writes design docs")
            page.click("#request")
            expect(page.locator("#status")).to_have_text("draft", timeout=20_000)
            draft = page.input_value("#body")
            assert "design docs" in draft.lower()
            expect(page.locator("#notice")).to_contain_text("not by AI")

            page.fill("#body", draft + "\n\nEdited in the browser.")
            page.click("#save")
            expect(page.locator("#status")).to_have_text("draft")
            page.click("#submit")  # an admin's own post is approved on submit
            expect(page.locator("#status")).to_have_text("approved")
            page.click("#publish")  # the embedded dry-run publisher, through the worker
            expect(page.locator("#status")).to_have_text("published", timeout=20_000)
            expect(page.locator("#error")).to_have_text("")
            # This service does not publish to LinkedIn: nothing to connect.
            expect(page.locator("#linkedin")).to_be_hidden()
            # No billing provider: the plan and its use, nothing to buy.
            expect(page.locator("#billing-plan")).to_have_text(
                re.compile(r"^\w+ plan: 1 of \d+ drafts this period\.$")
            )
            expect(page.locator("#billing-actions")).to_be_hidden()

            # An email's link to the post, opened in a fresh page load of the same tab.
            auth = {"Authorization": f"Bearer {token}"}
            org = httpx.get(url + "/v1/me", headers=auth).json()["organizations"][0]["id"]
            [listed] = httpx.get(f"{url}/v1/organizations/{org}/posts", headers=auth).json()[
                "items"
            ]
            page.goto(f"{url}/?post={listed['id']}")
            expect(page.locator("#status")).to_have_text("published")
            assert page.input_value("#body").endswith("Edited in the browser.")
            page.goto(f"{url}/?post={uuid4()}")  # not theirs, or gone: said, not thrown
            expect(page.locator("#error")).to_have_text(
                "that post is not in any of your organizations"
            )
        # What the page did is what the API holds.
        [post] = httpx.get(f"{url}/v1/organizations/{org}/posts", headers=auth).json()["items"]
        assert post["status"] == "published" and post["published_at"] is not None
        assert post["body"].endswith("Edited in the browser.")
