"""The example page connects a member's LinkedIn account and publishes there, in Chromium.

The service runs in this process (so respx's fake LinkedIn answers its calls); the browser's
visit to LinkedIn's sign-in page is answered by Playwright with what LinkedIn does once the
member agrees: a redirect to ``GHOSTART_LINKEDIN_REDIRECT_URI`` (the page) with a code and the
state it was given.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import load_web_settings, local_jwt_secret
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.settings import OAUTH_BASE_URL
from ghostart_service.app import create_service
from tests.adapters.linkedin.wired import KEYS, linkedin_env
from tests.service.browser import needs_chromium, signed_in_page
from tests.service.live import free_port, serving
from tests.support import make_settings

pytestmark = needs_chromium


def test_a_member_connects_linkedin_in_the_page_and_publishes_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linkedin: FakeLinkedIn
) -> None:
    from playwright.sync_api import Route, expect

    linkedin_env(monkeypatch)
    port = free_port()
    page_url = f"http://127.0.0.1:{port}/"
    monkeypatch.setenv("GHOSTART_LINKEDIN_REDIRECT_URI", page_url)
    core = Ghostart.from_settings(
        make_settings(tmp_path, publisher="linkedin", secret_keys=KEYS, embedded_worker=True)
    )
    service = create_service(core, web_settings=load_web_settings(home=tmp_path))
    sent_to_linkedin: list[dict[str, list[str]]] = []

    def linkedin_sign_in(route: Route) -> None:
        query = parse_qs(urlsplit(route.request.url).query)
        sent_to_linkedin.append(query)
        back = urlencode({"code": "code-for-782bbtaQ", "state": query["state"][0]})
        route.fulfill(status=302, headers={"Location": f"{query['redirect_uri'][0]}?{back}"})

    token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="member@example.com")
    with serving(service, port=port) as url, signed_in_page(url, token) as page:
        page.route(OAUTH_BASE_URL + "/authorization*", linkedin_sign_in)
        page.click("#new-org")
        expect(page.locator("#linkedin-status")).to_have_text("Not connected.")

        page.click("#linkedin-connect")
        expect(page.locator("#linkedin-status")).to_have_text("Connected as John Doe.")
        assert "code=" not in page.url and "state=" not in page.url  # kept out of the history
        [asked] = sent_to_linkedin
        assert asked["client_id"] == ["78member"] and asked["redirect_uri"] == [page_url]
        assert linkedin.calls("token") == 1

        page.fill("#topic", "What a week of pairing taught us")
        page.click("#request")
        expect(page.locator("#status")).to_have_text("draft", timeout=20_000)
        draft = page.input_value("#body")
        page.click("#submit")  # an admin's own post is approved on submit
        expect(page.locator("#status")).to_have_text("approved")
        page.click("#publish")
        expect(page.locator("#status")).to_have_text("published", timeout=20_000)
        expect(page.locator("#published a")).to_have_attribute(
            "href", f"https://www.linkedin.com/feed/update/{linkedin.posts[0]['id']}/"
        )
        expect(page.locator("#error")).to_have_text("")

    [published] = linkedin.posts
    assert published["author"] == "urn:li:person:782bbtaQ"
    assert draft.strip()[:40] in published["commentary"]
