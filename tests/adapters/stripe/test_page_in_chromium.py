"""The example page's plan section on a service that sells plans through Stripe, in Chromium.

The service runs in this process (so respx's Stripe answers its API calls). The browser's visits
to Stripe's Checkout and billing portal pages are answered by Playwright; the subscription that
Checkout would start arrives as a signed webhook, as Stripe sends it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.app import Ghostart
from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import load_web_settings, local_jwt_secret
from ghostart_service.app import create_service
from ghostart_stripe.testing import (
    STRIPE_API_BASE,
    checkout_session,
    customer,
    event,
    event_body,
    portal_session,
    subscription,
)
from ghostart_stripe.webhook import sign_header
from tests.adapters.stripe.conftest import WHSEC, stripe_env
from tests.service.browser import needs_chromium, signed_in_page
from tests.service.live import serving
from tests.support import make_settings

pytestmark = needs_chromium


def test_an_admin_subscribes_from_the_page_and_then_manages_billing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import Route, expect

    stripe_env(monkeypatch)
    core = Ghostart.from_settings(make_settings(tmp_path, billing="stripe"))
    service = create_service(core, web_settings=load_web_settings(home=tmp_path))
    visited: list[str] = []

    def stripe_page(route: Route) -> None:
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Stripe</title>")

    token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="admin@example.com")
    with (
        respx.mock(base_url=STRIPE_API_BASE, assert_all_called=False) as stripe,
        serving(service) as url,
        signed_in_page(url, token) as page,
    ):
        page.route(re.compile(r"^https://(checkout|billing)\.stripe\.com/.*"), stripe_page)
        page.click("#new-org")
        expect(page.locator("#billing-plan")).to_have_text("free plan: 0 of 2 drafts this period.")
        expect(page.locator("#billing-actions")).to_be_visible()
        expect(page.locator("#billing-portal")).to_be_hidden()  # nothing to manage yet
        org = page.input_value("#org")

        stripe.post("/v1/customers").mock(
            return_value=httpx.Response(200, json=customer("cus_page", organization_id=org))
        )
        sessions = stripe.post("/v1/checkout/sessions").mock(
            return_value=httpx.Response(
                200,
                json=checkout_session("cs_test_page", customer="cus_page", organization_id=org),
            )
        )
        page.select_option("#billing-choice", "pro")
        page.click("#billing-checkout")
        expect(page).to_have_url("https://checkout.stripe.com/c/pay/cs_test_page")
        sent = parse_qs(sessions.calls[0].request.content.decode())
        assert sent["line_items[0][price]"] == ["price_pro_monthly"]
        assert sent["metadata[ghostart_organization_id]"] == [org]

        # Checkout done: Stripe tells the service, and the page shows the plan and the portal.
        started = subscription("sub_page", customer="cus_page", organization_id=org)
        body = event_body(event("customer.subscription.created", started, id="evt_page"))
        signature = sign_header(body, [WHSEC], int(time.time()))
        answer = page.request.post(
            url + "/v1/webhooks/stripe",
            data=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
        assert answer.status == 200, answer.text()
        stripe.post("/v1/billing_portal/sessions").mock(
            return_value=httpx.Response(200, json=portal_session("page", customer="cus_page"))
        )
        for _ in range(200):  # the worker folds the event in
            status = page.request.get(
                f"{url}/v1/organizations/{org}/billing",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            if status["plan"]["name"] == "pro":
                break
            time.sleep(0.05)
        page.goto(url + "/#billing")  # the link of the payment-failed email
        expect(page.locator("#billing-plan")).to_have_text(
            "pro plan (active): 0 of 500 drafts this period."
        )
        expect(page.locator("#billing-subscribe")).to_be_hidden()  # now the portal's job
        page.click("#billing-portal")
        expect(page).to_have_url("https://billing.stripe.com/p/session/test_page")
        assert len(visited) == 2
