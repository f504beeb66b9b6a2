"""One-click unsubscribe over HTTP, end to end: from the sent email's header to no more mail."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit
from uuid import UUID

from ghostart.app import Ghostart
from ghostart.builtin.mailer_console import ConsoleMailer
from ghostart.models import DomainEvent, EventName, Post, PostStatus
from ghostart.ports.email import EmailStatus, OutboxEmail
from ghostart.ports.mailer import Email
from tests.service.conftest import Api, Org


async def _rows(app: Ghostart, user_id: UUID) -> list[OutboxEmail]:
    async with app.store.unit_of_work(readonly=True) as uow:
        return await uow.email.list_for_user(user_id)


async def _sent(app: Ghostart, user_id: UUID, template: str) -> Email:
    """The email the worker sent to ``user_id`` from ``template`` (waits for the worker)."""
    assert isinstance(app.mailer, ConsoleMailer)
    async with asyncio.timeout(10):
        while True:
            rows = [r for r in await _rows(app, user_id) if r.template == template]
            if rows and rows[0].status is EmailStatus.SENT:
                return app.mailer.sent[rows[0].idempotency_key]
            await asyncio.sleep(0.02)


async def _settled(app: Ghostart, email_id: UUID) -> OutboxEmail:
    """The row once the worker is done with it (sent, skipped or failed)."""
    async with asyncio.timeout(10):
        while True:
            async with app.store.unit_of_work(readonly=True) as uow:
                row = await uow.email.get(email_id)
            assert row is not None
            if row.status not in (EmailStatus.PENDING, EmailStatus.SENDING):
                return row
            await asyncio.sleep(0.02)


async def _approve(app: Ghostart, org: Org, author: UUID) -> None:
    post = Post(
        organization_id=org.id, author_id=author, body="Hi <b>there</b>", status=PostStatus.APPROVED
    )
    async with app.store.unit_of_work() as uow:
        await uow.posts.add(post)
    await app.emit(
        DomainEvent(
            name=EventName.POST_APPROVED,
            organization_id=org.id,
            payload={"post_id": str(post.id), "author_id": str(author)},
        )
    )


async def test_one_click_unsubscribe_end_to_end(service: Api, org: Org) -> None:
    app, c = service.app, service.client
    employee = org.user_ids["employee"]
    await _approve(app, org, employee)
    email = await _sent(app, employee, "post_approved")

    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = email.headers["List-Unsubscribe"].removeprefix("<").removesuffix(">")
    assert link in email.text and link.replace("&", "&amp;") in (email.html or "")
    url = urlsplit(link)
    target = f"{url.path}?{url.query}"

    # A GET (what a mail scanner does) shows a button and changes nothing.
    page = await c.get(target)
    assert page.status_code == 200 and '<form method="post"' in page.text
    prefs = await c.get("/v1/me/email-preferences", headers=org.employee)
    assert prefs.json()["notifications"] is True

    # Any altered byte of the token is refused, on both methods, and changes nothing.
    tampered = target[:-1] + ("A" if target[-1] != "A" else "B")
    refused = await c.post(tampered, content="List-Unsubscribe=One-Click")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_unsubscribe_token"
    assert (await c.get(tampered)).status_code == 400
    assert (await c.post("/v1/email/unsubscribe?token=u1.nonsense")).status_code == 400
    assert (await c.post("/v1/email/unsubscribe")).status_code == 422  # no token at all
    prefs = await c.get("/v1/me/email-preferences", headers=org.employee)
    assert prefs.json()["notifications"] is True

    # The one-click POST, as a mail client sends it: no sign-in, the RFC 8058 body.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    done = await c.post(target, content="List-Unsubscribe=One-Click", headers=form)
    assert done.status_code == 200 and done.content == b""
    again = await c.post(target, content="List-Unsubscribe=One-Click", headers=form)
    assert again.status_code == 200  # idempotent
    prefs = await c.get("/v1/me/email-preferences", headers=org.employee)
    assert prefs.json()["notifications"] is False and prefs.json()["digest"] is True

    # Afterwards: no optional mail to that user; transactional mail still goes.
    before = {r.id for r in await _rows(app, employee)}
    await _approve(app, org, employee)
    await app.emit(
        DomainEvent(
            name=EventName.MEMBER_ROLE_CHANGED,
            organization_id=org.id,
            payload={"user_id": str(employee), "role": "brand_creator"},
        )
    )
    new = [r.template for r in await _rows(app, employee) if r.id not in before]
    assert new == ["member_role_changed"]

    # The settings page lists the caller's own emails, without addresses.
    recent = await c.get("/v1/email/recent", headers=org.employee)
    assert recent.status_code == 200
    listed = recent.json()["emails"]
    assert {e["template"] for e in listed} >= {"post_approved", "member_role_changed"}
    assert "@" not in recent.text
    assert (await c.get("/v1/email/recent")).status_code == 401


async def test_an_unsubscribe_sent_before_the_opt_out_is_skipped_at_send_time(
    service: Api, org: Org
) -> None:
    # A row queued before the opt-out is checked again by the sending job: skipped, not sent.
    app = service.app
    creator = org.user_ids["brand_creator"]
    await app.stop_worker()
    await _approve(app, org, creator)
    [row] = [r for r in await _rows(app, creator) if r.template == "post_approved"]
    await app.profiles.set_email_preferences(creator, {"notifications": False})
    app.start_worker()
    after = await _settled(app, row.id)
    assert after.status is EmailStatus.SKIPPED
    assert isinstance(app.mailer, ConsoleMailer) and row.idempotency_key not in app.mailer.sent


async def test_the_webhook_route_needs_a_mailer_that_takes_webhooks(service: Api) -> None:
    # The console mailer takes no webhooks: the route is not there for it.
    answer = await service.client.post("/v1/email/webhooks/resend", content=b"{}")
    assert answer.status_code == 404
