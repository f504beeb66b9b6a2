"""Stripe billing through the service's routes, on SQLite and on PostgreSQL.

The webhook route verifies Stripe's signature on the raw body and records the event with its job;
the embedded worker folds it into the organization's state. Stripe's API is respx (documented
shapes); webhooks are signed with Stripe's scheme. The app's clock is fixed, so that the
signature tests can put a timestamp exactly 301 s away.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import respx
import sqlalchemy as sa
from fastapi import FastAPI

from ghostart.app import Ghostart
from ghostart.models import EventName, JobKind
from ghostart.services.billing_grace import GRACE_PERIOD_ENDED, GracePeriods
from ghostart.testing import CountingGenerator, EventRecorder, ManualClock
from ghostart.web.app import create_app
from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import load_web_settings, local_jwt_secret
from ghostart_stripe.testing import (
    STRIPE_API_BASE,
    checkout_session,
    customer,
    event,
    event_body,
    invoice,
    meter_event,
    portal_session,
    subscription,
)
from ghostart_stripe.webhook import sign_header
from tests.adapters.stripe.conftest import KEY, OLD_WHSEC, T0, WHSEC, stripe_env
from tests.support import make_settings

NOW = datetime.fromtimestamp(T0, UTC)
#: The jobs a refused request would have queued (other kinds, e.g. email, come and go).
GENERATE_JOBS = f"select count(*) from jobs where kind = '{JobKind.GENERATE.value}'"


@dataclass
class Stack:
    """The service, its core, Stripe's mock, and the events the plugins were sent."""

    api: FastAPI
    app: Ghostart
    client: httpx.AsyncClient
    home: Path
    stripe: respx.MockRouter
    events: EventRecorder

    def auth(self, user_id: UUID, email: str) -> dict[str, str]:
        token = mint_dev_token(local_jwt_secret(self.home), user_id, email=email)
        return {"Authorization": f"Bearer {token}"}

    async def post_webhook(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        return await self.client.post("/v1/webhooks/stripe", content=body, headers=headers)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.app.store.unit_of_work() as uow:
            return (await uow.connection.execute(sa.text(sql), params)).scalar()  # type: ignore[attr-defined]

    async def processed(self, event_id: str) -> str:
        """Wait until the worker has handled the event's row; its status."""
        for _ in range(400):
            async with self.app.store.unit_of_work(readonly=True) as uow:
                row = await uow.billing.get_webhook_event(event_id)
            if row is not None and row.status != "received":
                return row.status
            await asyncio.sleep(0.025)
        raise AssertionError(f"event {event_id} was never processed")


@dataclass
class Org:
    id: UUID
    admin: dict[str, str]
    employee: dict[str, str]
    employee_id: UUID

    def url(self, path: str = "") -> str:
        return f"/v1/organizations/{self.id}{path}"


async def _stack(
    home: Path, database_url: str | None, *, billing: str = "stripe"
) -> AsyncIterator[Stack]:
    extra: dict[str, Any] = {}
    if database_url is not None:
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        extra = {"database_url": database_url, "secret_keys": f"k1:{key}"}
    settings = make_settings(home, billing=billing, generation_rate_limit=1000, **extra)
    core = Ghostart.from_settings(settings, generator=CountingGenerator(), clock=ManualClock(NOW))
    events = EventRecorder()
    core.plugins.register(events, name="events")
    api = create_app(core, web_settings=load_web_settings(home=home))
    with respx.mock(base_url=STRIPE_API_BASE, assert_all_called=False) as stripe:
        async with api.router.lifespan_context(api):
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Stack(api, core, client, home, stripe, events)


@pytest.fixture(params=["sqlite", "postgres"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    """The service with GHOSTART_BILLING=stripe, on each store."""
    stripe_env(monkeypatch)
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async for made in _stack(tmp_path, url):
        yield made


@pytest.fixture
async def sqlite_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    """The service with GHOSTART_BILLING=stripe, on the embedded store."""
    stripe_env(monkeypatch)
    async for made in _stack(tmp_path, None):
        yield made


async def _org(stack: Stack, name: str = "Acme") -> Org:
    admin_id, employee_id = uuid4(), uuid4()
    domain = f"{name.lower()}.example.com"
    admin, employee = (
        stack.auth(admin_id, f"admin@{domain}"),
        stack.auth(employee_id, f"e@{domain}"),
    )
    c = stack.client
    made = await c.post("/v1/organizations", json={"name": name}, headers=admin)
    assert made.status_code == 201, made.text
    org_id = UUID(made.json()["id"])
    assert (await c.get("/v1/me", headers=employee)).status_code == 200
    added = await c.post(
        f"/v1/organizations/{org_id}/members",
        json={"email": f"e@{domain}", "role": "brand_creator"},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    voice = await c.post(
        f"/v1/organizations/{org_id}/brand-voices", json={"name": "House"}, headers=admin
    )
    assert voice.status_code == 201, voice.text
    return Org(org_id, admin, employee, employee_id)


def _signed(
    org: UUID | None, *, id: str, created: int = T0, sub_id: str | None = None, **sub: Any
) -> tuple[bytes, str]:
    obj = subscription(sub_id or f"sub_{id[-8:]}", organization_id=org, **sub)
    body = event_body(event("customer.subscription.updated", obj, id=id, created=created))
    return body, sign_header(body, [WHSEC], T0)


# -- signatures --------------------------------------------------------------------------------


async def test_the_webhook_route_checks_stripes_signature_on_the_raw_body(
    sqlite_stack: Stack,
) -> None:
    stack = sqlite_stack
    org = uuid4()
    body, good = _signed(org, id="evt_sig_valid")
    accepted = await stack.post_webhook(body, good)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"received": True, "duplicate": False}

    flipped = bytearray(body)
    flipped[body.index(b"active")] ^= 0x01  # one byte of the signed body changed
    refused = {
        "one byte changed": (bytes(flipped), good),
        "header missing": (body, None),
        "301 s old": (body, sign_header(body, [WHSEC], T0 - 301)),
        "301 s in the future": (body, sign_header(body, [WHSEC], T0 + 301)),
        "another secret": (body, sign_header(body, ["whsec_somebodyElse"], T0)),
    }
    for why, (payload, signature) in refused.items():
        answer = await stack.post_webhook(payload, signature)
        assert answer.status_code == 400, why
        assert answer.headers["content-type"] == "application/problem+json", why
        assert answer.json()["code"] == "webhook_rejected", why
        assert WHSEC not in answer.text and OLD_WHSEC not in answer.text

    rotated, _ = _signed(org, id="evt_sig_rotated")
    both = await stack.post_webhook(rotated, sign_header(rotated, [WHSEC, OLD_WHSEC], T0))
    assert both.status_code == 200, both.text  # two v1 values: old and new secret
    edge, _ = _signed(org, id="evt_sig_edge")
    assert (await stack.post_webhook(edge, sign_header(edge, [WHSEC], T0 - 300))).status_code == 200
    recorded = await stack.scalar("select count(*) from billing_webhook_events")
    assert recorded == 3  # nothing refused was recorded


# -- duplicates --------------------------------------------------------------------------------


async def test_the_same_event_five_times_at_once_is_one_row_one_change_one_event(
    stack: Stack,
) -> None:
    org = await _org(stack)
    body, signature = _signed(org.id, id="evt_5x_upgrade", prices=("price_pro_monthly",))
    answers = await asyncio.gather(*(stack.post_webhook(body, signature) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True, True]
    assert await stack.processed("evt_5x_upgrade") == "processed"
    await stack.app.stop_worker()  # everything queued has run

    assert await stack.scalar("select count(*) from billing_webhook_events") == 1
    kind = JobKind.BILLING_EVENT.value
    assert await stack.scalar("select count(*) from jobs where kind = :k", k=kind) == 1
    # One entitlement change: the state was written once, and one plan change was emitted.
    assert await stack.scalar("select version from billing_states") == 1
    changes = [e for e in stack.events.events if e.name == EventName.BILLING_PLAN_CHANGED]
    assert len(changes) == 1 and changes[0].organization_id == org.id
    assert (changes[0].payload["from"], changes[0].payload["to"]) == ("free", "pro")

    status = await stack.client.get(org.url("/billing"), headers=org.employee)
    assert status.status_code == 200, status.text
    got = status.json()
    assert got["plan"]["name"] == "pro" and got["status"] == "active"
    assert got["subscription_id"] == "sub_" + "evt_5x_upgrade"[-8:]


async def test_events_that_change_nothing_are_ignored_or_failed_never_half_applied(
    sqlite_stack: Stack,
) -> None:
    stack = sqlite_stack
    unknown = event_body(event("customer.created", customer("cus_new"), id="evt_unknown"))
    assert (await stack.post_webhook(unknown, sign_header(unknown, [WHSEC], T0))).status_code == 200
    assert await stack.processed("evt_unknown") == "ignored"

    # An invoice without ghostart's metadata, of a customer nobody knows: the subscription is
    # re-read, and Stripe answers 404 (a permanent error): the row fails, no state is written.
    missing = stack.stripe.get("/v1/subscriptions/sub_orphan").mock(
        return_value=httpx.Response(
            404,
            json={
                "error": {
                    "code": "resource_missing",
                    "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
                    "message": "No such subscription: 'sub_orphan'",
                    "param": "id",
                    "type": "invalid_request_error",
                }
            },
        )
    )
    orphan = invoice("in_orphan", subscription="sub_orphan", customer="cus_orphan")
    body = event_body(event("invoice.paid", orphan, id="evt_orphan"))
    assert (await stack.post_webhook(body, sign_header(body, [WHSEC], T0))).status_code == 200
    assert await stack.processed("evt_orphan") == "failed"
    assert missing.call_count == 1  # permanent: not retried
    error = await stack.scalar(
        "select last_error from billing_webhook_events where id = 'evt_orphan'"
    )
    assert "No such subscription" in error and KEY not in error
    assert await stack.scalar("select count(*) from billing_states") == 0


# -- quotas ------------------------------------------------------------------------------------


async def _ask(stack: Stack, org: Org, topic: str) -> httpx.Response:
    return await stack.client.post(
        org.url("/content-requests"), json={"topic": topic}, headers=org.employee
    )


async def test_at_the_limit_a_clear_error_and_nothing_queued_until_an_upgrade_lifts_it(
    stack: Stack,
) -> None:
    org = await _org(stack)
    for topic in ("Onboarding engineers", "Design docs that get read"):
        assert (await _ask(stack, org, topic)).status_code in (200, 202)
    jobs = await stack.scalar(GENERATE_JOBS)
    posts = await stack.scalar("select count(*) from posts")

    refused = await _ask(stack, org, "Incident reviews without blame")
    assert refused.status_code == 402, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "quota_exceeded"
    assert (problem["plan"], problem["limit"], problem["used"]) == ("free", 2, 2)
    assert "plan 'free' allows 2 generations a month" in problem["detail"]
    assert f"/v1/organizations/{org.id}/billing/checkout" in problem["detail"]
    assert await stack.scalar(GENERATE_JOBS) == jobs  # nothing queued
    assert await stack.scalar("select count(*) from posts") == posts

    body, signature = _signed(org.id, id="evt_quota_upgrade", prices=("price_pro_monthly",))
    assert (await stack.post_webhook(body, signature)).status_code == 200
    assert await stack.processed("evt_quota_upgrade") == "processed"
    lifted = await _ask(stack, org, "Incident reviews without blame")  # no cache to wait for
    assert lifted.status_code in (200, 202), lifted.text
    quota = await stack.client.get(org.url("/billing"), headers=org.admin)
    assert quota.json()["plan"]["monthly_generations"] == 500
    assert quota.json()["used"]["generations"] == 3


async def test_the_campaign_limit_refuses_a_second_campaign_and_queues_nothing(
    sqlite_stack: Stack,
) -> None:
    stack = sqlite_stack
    org = await _org(stack)
    brief = {"name": "Launch", "message": "Our new region is live"}
    first = await stack.client.post(
        org.url("/campaigns"),
        json=brief | {"participants": [str(org.employee_id)]},
        headers=org.employee,
    )
    assert first.status_code == 201, first.text
    jobs = await stack.scalar(GENERATE_JOBS)
    second = await stack.client.post(
        org.url("/campaigns"),
        json=brief | {"name": "Again", "participants": [str(org.employee_id)]},
        headers=org.employee,
    )
    assert second.status_code == 402, second.text
    problem = second.json()
    assert (problem["plan"], problem["limit"], problem["used"]) == ("free", 1, 1)
    assert (
        "allows 1 campaigns a month" in problem["detail"]
        and "billing/checkout" in problem["detail"]
    )
    assert await stack.scalar(GENERATE_JOBS) == jobs
    assert await stack.scalar("select count(*) from campaigns") == 1


async def test_seats_and_api_access_follow_the_plan(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    org = await _org(stack)  # an admin and a brand creator: the free plan's two seats
    c = stack.client
    third = uuid4()
    assert (await c.get("/v1/me", headers=stack.auth(third, "third@acme.example.com"))).is_success
    member = {"user_id": str(third), "role": "employee"}
    full = await c.post(org.url("/members"), json=member, headers=org.admin)
    assert full.status_code == 402, full.text
    assert (full.json()["plan"], full.json()["limit"], full.json()["used"]) == ("free", 2, 2)
    assert "allows 2 seats" in full.json()["detail"]
    key_body = {"name": "ci", "scopes": ["org.read"]}
    no_api = await c.post(org.url("/api-keys"), json=key_body, headers=org.admin)
    assert no_api.status_code == 402 and "API access" in no_api.json()["detail"]

    body, signature = _signed(org.id, id="evt_seats_up", prices=("price_pro_monthly",))
    assert (await stack.post_webhook(body, signature)).status_code == 200
    assert await stack.processed("evt_seats_up") == "processed"
    assert (await c.post(org.url("/members"), json=member, headers=org.admin)).status_code == 201
    made = await c.post(org.url("/api-keys"), json=key_body, headers=org.admin)
    assert made.status_code == 201, made.text
    key = {"X-API-Key": made.json()["key"]}
    assert (await c.get(org.url(""), headers=key)).status_code == 200

    # Canceled: back on the free plan, and the key stops working at once.
    body, signature = _signed(
        org.id,
        id="evt_seats_down",
        sub_id="sub_seats_up",
        created=T0 + 60,
        prices=("price_pro_monthly",),
        status="canceled",
        ended_at=T0 + 60,
    )
    assert (await stack.post_webhook(body, signature)).status_code == 200
    assert await stack.processed("evt_seats_down") == "processed"
    refused = await c.get(org.url(""), headers=key)
    assert refused.status_code == 402 and refused.json()["plan"] == "free"


# -- Checkout, the portal, metered usage ----------------------------------------------------------


def _form(request: httpx.Request) -> dict[str, str]:
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


async def test_checkout_and_portal_are_for_admins_and_follow_the_idempotency_key(
    sqlite_stack: Stack,
) -> None:
    stack = sqlite_stack
    org = await _org(stack)
    customers = stack.stripe.post("/v1/customers").mock(
        return_value=httpx.Response(200, json=customer("cus_acme", organization_id=org.id))
    )
    sessions = stack.stripe.post("/v1/checkout/sessions").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=checkout_session(
                "cs_test_acme", customer="cus_acme", organization_id=org.id, plan="pro"
            ),
        )
    )
    portals = stack.stripe.post("/v1/billing_portal/sessions").mock(
        return_value=httpx.Response(200, json=portal_session("acme", customer="cus_acme"))
    )
    c = stack.client
    no_customer = await c.post(org.url("/billing/portal"), headers=org.admin)
    assert no_customer.status_code == 409, no_customer.text

    forbidden = await c.post(
        org.url("/billing/checkout"), json={"plan": "pro"}, headers=org.employee
    )
    assert forbidden.status_code == 403 and sessions.call_count == 0
    unknown = await c.post(org.url("/billing/checkout"), json={"plan": "gold"}, headers=org.admin)
    assert unknown.status_code == 422 and "gold" in unknown.json()["detail"]

    headers = org.admin | {"Idempotency-Key": "client-request-1"}
    made = [
        await c.post(org.url("/billing/checkout"), json={"plan": "pro"}, headers=headers)
        for _ in range(2)
    ]
    assert [m.status_code for m in made] == [201, 201], made[0].text
    assert made[0].json()["url"].startswith("https://checkout.stripe.com/")
    keys = [call.request.headers["Idempotency-Key"] for call in sessions.calls]
    assert len(keys) == 2 and keys[0] == keys[1] and "client-request-1" in keys[0]
    assert customers.call_count == 1  # the customer is stored after the first checkout
    sent = _form(sessions.calls[0].request)
    assert sent["metadata[ghostart_organization_id]"] == str(org.id)
    assert sent["line_items[0][price]"] == "price_pro_monthly"

    portal = await c.post(org.url("/billing/portal"), headers=org.admin)
    assert portal.status_code == 201, portal.text
    assert portal.json()["url"].startswith("https://billing.stripe.com/")
    assert _form(portals.calls[0].request)["customer"] == "cus_acme"


async def test_a_metered_generation_is_reported_to_the_meter_once(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    org = await _org(stack)
    meter = stack.stripe.post("/v1/billing/meter_events").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=meter_event(
                event_name="ghostart_generation",
                customer="cus_scale",
                value=1,
                identifier=_form(request)["identifier"],
            ),
        )
    )
    body, signature = _signed(
        org.id, id="evt_metered", prices=("price_scale_base",), customer="cus_scale"
    )
    assert (await stack.post_webhook(body, signature)).status_code == 200
    assert await stack.processed("evt_metered") == "processed"
    asked = await stack.client.post(
        org.url("/content-requests?wait=10"), json={"topic": "Metered"}, headers=org.employee
    )
    assert asked.json()["status"] == "draft", asked.text
    kind = JobKind.REPORT_USAGE.value
    for _ in range(400):
        if await stack.scalar(
            "select count(*) from jobs where kind = :k and status = 'done'", k=kind
        ):
            break
        await asyncio.sleep(0.025)
    await stack.app.stop_worker()
    generation = await stack.scalar("select generation_id from posts where body is not null")
    assert meter.call_count == 1
    sent = _form(meter.calls[0].request)
    expected = f"ghostart:usage:ghostart_generation:{UUID(str(generation))}"
    assert sent["identifier"] == expected
    assert meter.calls[0].request.headers["Idempotency-Key"] == expected
    assert sent["payload[stripe_customer_id]"] == "cus_scale"


async def test_the_adapter_keeps_its_state_in_the_apps_store(sqlite_stack: Stack) -> None:
    billing = sqlite_stack.app.billing
    assert billing.states is sqlite_stack.app.billing_states  # type: ignore[attr-defined]
    org = await _org(sqlite_stack)
    body, signature = _signed(org.id, id="evt_stored", prices=("price_team_monthly",))
    assert (await sqlite_stack.post_webhook(body, signature)).status_code == 200
    assert await sqlite_stack.processed("evt_stored") == "processed"
    row = await sqlite_stack.scalar("select plan || ':' || status from billing_states")
    assert row == "team:active"  # the listing columns follow the entitlement


async def test_the_end_of_a_grace_period_is_announced_once_as_a_plan_change(
    stack: Stack,
) -> None:
    org = await _org(stack)
    # Unpaid since the period began at T0: past_due keeps "pro" for the grace period (7 days).
    body, signature = _signed(
        org.id, id="evt_grace", status="past_due", prices=("price_pro_monthly",), period_start=T0
    )
    assert (await stack.post_webhook(body, signature)).status_code == 200
    assert await stack.processed("evt_grace") == "processed"
    await stack.app.stop_worker()  # its periodic tasks would run the sweep too
    clock = stack.app.context.clock
    assert isinstance(clock, ManualClock)
    sweeps = [GracePeriods(stack.app.context, stack.app.billing_states) for _ in range(2)]

    def changes() -> list[tuple[str, str, str | None]]:
        return [
            (e.payload["from"], e.payload["to"], e.payload.get("reason"))
            for e in stack.events.events
            if e.name == EventName.BILLING_PLAN_CHANGED
        ]

    assert changes() == [("free", "pro", None)]
    clock.advance(7 * 86400 - 1)  # the last second of grace
    assert await sweeps[0].run_once() == 0
    assert (await stack.client.get(org.url("/billing"), headers=org.admin)).json()["plan"][
        "name"
    ] == "pro"

    clock.advance(2)
    # Two workers at once (on PostgreSQL they skip each other's rows): one announcement.
    assert sorted(await asyncio.gather(*(s.run_once() for s in sweeps))) == [0, 1]
    assert await sweeps[0].run_once() == 0
    assert changes() == [("free", "pro", None), ("pro", "free", GRACE_PERIOD_ENDED)]
    [lapse] = [e for e in stack.events.events if e.payload.get("reason")]
    assert lapse.organization_id == org.id and lapse.payload["status"] == "past_due"
    assert lapse.payload["grace_until"] == datetime.fromtimestamp(T0 + 7 * 86400, UTC).isoformat()
    listing = await stack.scalar("select plan || ':' || status from billing_states")
    assert listing == "free:past_due"
    billing = (await stack.client.get(org.url("/billing"), headers=org.admin)).json()
    assert billing["plan"]["name"] == "free"
    # The admins hear of it by email (the plan_changed template), through the outbox.
    assert (
        await stack.scalar("select count(*) from email_outbox where template = 'plan_changed'") == 2
    )


# -- GHOSTART_BILLING=none ---------------------------------------------------------------------


async def test_without_billing_the_routes_say_so(tmp_path: Path) -> None:
    async for stack in _stack(tmp_path, None, billing="none"):
        org = await _org(stack)
        body, signature = _signed(org.id, id="evt_nobilling")
        for answer in (
            await stack.post_webhook(body, signature),
            await stack.client.post(
                org.url("/billing/checkout"), json={"plan": "pro"}, headers=org.admin
            ),
            await stack.client.post(org.url("/billing/portal"), headers=org.admin),
        ):
            assert answer.status_code == 404, answer.text
            assert answer.json()["code"] == "billing_not_configured"
        status = await stack.client.get(org.url("/billing"), headers=org.employee)
        assert status.status_code == 200
        assert status.json()["plan"]["name"] == "free" and status.json()["provider"] == "none"
