"""The email outbox on Resend's documented shapes (respx), through the app and its routes.

Events become requests; retries carry the row's one key; errors map onto the taxonomy; webhooks
arrive through the service's route, and a hard bounce or a complaint suppresses the address.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import respx

from ghostart.app import Ghostart
from ghostart.models import DomainEvent, EventName, Post, PostStatus
from ghostart.ports.email import EmailStatus, OutboxEmail
from ghostart.web.app import create_app
from ghostart_resend.mailer import ResendMailer
from ghostart_resend.testing import error_response, sign_webhook, webhook_payload
from tests.support import Team, make_settings, make_team

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Setup:
    app: Ghostart
    team: Team
    client: httpx.AsyncClient
    requests: list[httpx.Request]


def _template(request: httpx.Request) -> str | None:
    tags = {t["name"]: t["value"] for t in json.loads(request.content).get("tags", [])}
    return tags.get("template")


@pytest.fixture
def answers() -> dict[str, list[httpx.Response]]:
    """Answers to give, per template, before Resend accepts (empty: accepted at once)."""
    return {}


@pytest.fixture
async def setup(
    tmp_path: Path,
    make_mailer: Callable[..., ResendMailer],
    resend_mock: respx.MockRouter,
    answers: dict[str, list[httpx.Response]],
) -> AsyncIterator[Setup]:
    requests: list[httpx.Request] = []
    sent = 0

    def send(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        requests.append(request)
        planned = answers.get(_template(request) or "", [])
        if planned:
            return planned.pop(0)
        sent += 1
        return httpx.Response(200, json={"id": f"resend-{sent}"})

    resend_mock.post("/emails").mock(side_effect=send)
    app = Ghostart.from_settings(
        make_settings(tmp_path), mailer=make_mailer(webhook_secrets=SECRET)
    )
    api = create_app(app)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            team = await make_team(app)
            yield Setup(app, team, client, requests)


async def _settled(app: Ghostart, user_id: UUID, template: str) -> OutboxEmail:
    """The user's ``template`` row once the worker is done with it."""
    async with asyncio.timeout(15):
        while True:
            async with app.store.unit_of_work(readonly=True) as uow:
                rows = [r for r in await uow.email.list_for_user(user_id) if r.template == template]
            if rows and rows[0].status not in (EmailStatus.PENDING, EmailStatus.SENDING):
                return rows[0]
            await asyncio.sleep(0.02)


async def _approve(app: Ghostart, team: Team, author: UUID) -> None:
    post = Post(
        organization_id=team.org.id,
        author_id=author,
        body="<script>alert(1)</script> Ship it.",
        status=PostStatus.APPROVED,
    )
    async with app.store.unit_of_work() as uow:
        await uow.posts.add(post)
    await app.emit(
        DomainEvent(
            name=EventName.POST_APPROVED,
            organization_id=team.org.id,
            payload={"post_id": str(post.id), "author_id": str(author)},
        )
    )


@pytest.mark.parametrize(
    "answers",
    [
        {
            "post_approved": [
                error_response("rate_limit_exceeded", **{"retry-after": "0"}),
                error_response("application_error"),
            ]
        }
    ],
)
async def test_a_429_then_a_5xx_are_retried_with_the_rows_one_key(setup: Setup) -> None:
    employee = setup.team.employee.user_id
    await _approve(setup.app, setup.team, employee)
    row = await _settled(setup.app, employee, "post_approved")

    mine = [r for r in setup.requests if _template(r) == "post_approved"]
    assert [r.headers["idempotency-key"] for r in mine] == [row.idempotency_key] * 3
    assert len({r.content for r in mine}) == 1  # every attempt the same bytes
    assert row.status is EmailStatus.SENT and row.message_id and row.attempts == 1
    body = json.loads(mine[-1].content)
    assert body["to"] == ["employee@acme.example.com"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["headers"]["List-Unsubscribe"].startswith("<http://localhost:8000/v1/email/")
    assert "&lt;script&gt;" in body["html"] and "<script>" not in body["html"]
    assert "Ship it." in body["text"]


@pytest.mark.parametrize("answers", [{"post_approved": [error_response("validation_error")]}])
async def test_a_validation_error_fails_the_email_for_good(setup: Setup) -> None:
    employee = setup.team.employee.user_id
    await _approve(setup.app, setup.team, employee)
    row = await _settled(setup.app, employee, "post_approved")

    assert row.status is EmailStatus.FAILED and row.message_id is None
    assert row.error and "validation_error" in row.error and "@acme" not in row.error
    await asyncio.sleep(0.5)  # reconciler ticks (0.2 s): a failed email is never sent again
    assert [_template(r) for r in setup.requests].count("post_approved") == 1


@pytest.mark.parametrize("answers", [{"post_approved": [error_response("daily_quota_exceeded")]}])
async def test_a_long_rate_limit_is_left_to_the_outbox(setup: Setup) -> None:
    # Resend's retry-after of an hour is not waited in-process: the row waits in the outbox.
    employee = setup.team.employee.user_id
    await _approve(setup.app, setup.team, employee)
    async with asyncio.timeout(15):
        while True:
            async with setup.app.store.unit_of_work(readonly=True) as uow:
                rows = await uow.email.list_for_user(employee)
            [row] = [r for r in rows if r.template == "post_approved"]
            if row.attempts == 1 and row.status is EmailStatus.PENDING:
                break
            await asyncio.sleep(0.02)
    assert row.error and "daily_quota_exceeded" in row.error
    assert (row.not_before - setup.app.clock.now()).total_seconds() > 3000
    assert row.message_id is None and row.lease_owner is None
    assert [_template(r) for r in setup.requests].count("post_approved") == 1


def _signed(payload: dict[str, object], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, sign_webhook(body, secret)


async def test_webhooks_through_the_route_a_bounce_suppresses(setup: Setup) -> None:
    app, c, team = setup.app, setup.client, setup.team
    employee, creator = team.employee.user_id, team.creator.user_id
    url = "/v1/email/webhooks/resend"

    # A delivery report lands on the row it is about.
    await _approve(app, team, creator)
    sent = await _settled(app, creator, "post_approved")
    assert sent.message_id is not None
    body, headers = _signed(webhook_payload("email.delivered", email_id=sent.message_id))
    answer = await c.post(url, content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"received": "delivered", "suppressed": 0}
    async with app.store.unit_of_work(readonly=True) as uow:
        row = await uow.email.get(sent.id)
    assert row is not None and row.delivery == "delivered"

    # Signatures: a wrong secret, a changed body, no headers, another provider.
    bounce = webhook_payload("email.bounced", to="Employee@Acme.example.com")
    body, headers = _signed(bounce)
    other = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    assert (await c.post(url, content=body, headers=_signed(bounce, other)[1])).status_code == 401
    assert (await c.post(url, content=body + b" ", headers=headers)).status_code == 401
    assert (await c.post(url, content=body)).status_code == 401
    assert (
        await c.post("/v1/email/webhooks/stripe", content=body, headers=headers)
    ).status_code == 404

    # A hard bounce suppresses the address (whatever its case); a replay changes nothing more.
    answer = await c.post(url, content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["suppressed"] == 1
    assert (await c.post(url, content=body, headers=headers)).json()["suppressed"] == 0

    # No optional mail to the suppressed address any more; transactional mail still goes.
    await _approve(app, team, employee)
    await app.emit(
        DomainEvent(
            name=EventName.MEMBER_ROLE_CHANGED,
            organization_id=team.org.id,
            payload={"user_id": str(employee), "role": "brand_creator"},
        )
    )
    await _settled(app, employee, "member_role_changed")
    async with app.store.unit_of_work(readonly=True) as uow:
        templates = [r.template for r in await uow.email.list_for_user(employee)]
    assert "post_approved" not in templates and "member_role_changed" in templates

    # A complaint suppresses too; a soft bounce does not.
    for kind, to, expected in (
        ("email.bounced", "brand_creator@acme.example.com", 0),  # transient, below
        ("email.complained", "admin@acme.example.com", 1),
    ):
        payload = webhook_payload(kind, to=to, bounce_type="Transient")
        body, headers = _signed(payload)
        answer = await c.post(url, content=body, headers=headers)
        assert answer.json()["suppressed"] == expected, kind


async def test_webhooks_without_a_secret_are_refused_not_crashed(
    tmp_path: Path, make_mailer: Callable[..., ResendMailer], resend_mock: respx.MockRouter
) -> None:
    app = Ghostart.from_settings(make_settings(tmp_path), mailer=make_mailer())
    api = create_app(app)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body, headers = _signed(webhook_payload("email.bounced"))
            answer = await client.post("/v1/email/webhooks/resend", content=body, headers=headers)
    assert answer.status_code == 503
    assert answer.json()["code"] == "email_webhooks_not_configured"
