"""The policies of migration 0010, and email on PostgreSQL end to end.

The email tables are the system's: the event handler, the worker, the scheduler and the webhook
route write them as ``service_role``. A member reads only the emails sent to them (in their own
organizations); nobody else's, and nothing of the suppression list or the scheduler's slots.
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ghostart.app import Ghostart
from ghostart.email.service import address_hash
from ghostart.models import DomainEvent, EmailCategory, EventName, Post, PostStatus, User
from ghostart.ports.email import EmailStatus, OutboxEmail
from ghostart.ports.mailer import Email
from tests.adapters.postgres.world import Tenant, World, refused
from tests.support import make_settings, make_team


def _row(tenant: Tenant, user: User, key: str) -> OutboxEmail:
    return OutboxEmail(
        organization_id=tenant.org.id,
        user_id=user.id,
        recipient=str(user.email),
        template="post_approved",
        category=EmailCategory.NOTIFICATIONS,
        idempotency_key=key,
    )


async def test_members_read_only_their_own_emails(store: Any, world: World) -> None:
    a, b = world.a, world.b
    rows = [
        _row(a, a.employee, "k-a-employee"),
        _row(a, a.admin, "k-a-admin"),
        _row(b, b.admin, "k-b-admin"),
        _row(a, world.both, "k-both-in-a"),
        _row(b, world.both, "k-both-in-b"),
    ]
    async with store.unit_of_work() as uow:  # the system writes
        assert len(await uow.email.add_many(rows)) == 5
        assert await uow.email.add_many(rows) == []  # the keys are unique

    async def keys(tenant: Tenant, user: User, of: UUID) -> list[str]:
        async with store.unit_of_work(tenant.principal(user), readonly=True) as uow:
            rows = await uow.email.list_for_user(of)
        return sorted(r.idempotency_key for r in rows if r.idempotency_key.startswith("k-"))

    assert await keys(a, a.employee, a.employee.id) == ["k-a-employee"]
    assert await keys(a, a.employee, a.admin.id) == []  # a co-member's: hidden
    assert await keys(a, a.admin, a.employee.id) == []  # even from an admin
    assert await keys(a, a.admin, b.admin.id) == []
    assert await keys(a, world.both, world.both.id) == ["k-both-in-a"]  # acting in A: A's only
    assert await keys(b, world.both, world.both.id) == ["k-both-in-b"]
    async with store.unit_of_work(readonly=True) as uow:  # the system sees them all
        rows = await uow.email.list_for_user(world.both.id)
        assert {r.idempotency_key for r in rows} >= {"k-both-in-a", "k-both-in-b"}


@pytest.mark.parametrize(
    "statement",
    [
        "insert into email_outbox (id, user_id, recipient, template, category, data,"
        " idempotency_key, status, attempts, created_at) values (gen_random_uuid(), :me,"
        " 'x@example.com', 'post_approved', 'notifications', '{}', 'forged', 'pending', 0, now())",
        "update email_outbox set status = 'sent'",
        "delete from email_outbox",
        "select count(*) from email_suppressions",
        "insert into email_suppressions values ('h', 'complained', 'x', null, now())",
        "delete from email_suppressions",
        "select count(*) from scheduler_slots",
        "insert into scheduler_slots values ('digest:forged', 'me', now())",
    ],
)
async def test_members_write_nothing_and_read_no_system_table(
    store: Any, world: World, statement: str
) -> None:
    a = world.a
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(a.principal(a.admin)) as uow:
            await uow.connection.execute(sa.text(statement), {"me": a.admin.id})
    assert refused(exc)


async def test_the_system_suppresses_and_claims_slots_once(store: Any, world: World) -> None:
    now = world.a.org.created_at
    async with store.unit_of_work() as uow:
        assert await uow.email.suppress(
            address_hash("A@Example.com"), reason="bounced", provider="t", message_id=None, at=now
        )
        assert not await uow.email.suppress(
            address_hash("a@example.com"), reason="bounced", provider="t", message_id=None, at=now
        )
        assert await uow.email.suppressed([address_hash("a@example.com")]) == {
            address_hash("a@example.com")
        }
        assert await uow.email.claim_slot("digest:1", owner="w1", at=now)
        assert not await uow.email.claim_slot("digest:1", owner="w2", at=now)


class _Recording:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> str:
        self.sent.append(email)
        return f"m{len(self.sent)}"


async def test_an_event_becomes_a_sent_email_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = make_settings(tmp_path, database_url=postgres_url, secret_keys=f"k1:{key}")
    mailer = _Recording()
    async with Ghostart.from_settings(settings, mailer=mailer) as app:
        team = await make_team(app)
        post = Post(
            organization_id=team.org.id,
            author_id=team.employee.user_id,
            body="Ship it",
            status=PostStatus.APPROVED,
        )
        async with app.store.unit_of_work() as uow:
            await uow.posts.add(post)
        event = DomainEvent(
            name=EventName.POST_APPROVED,
            organization_id=team.org.id,
            payload={"post_id": str(post.id), "author_id": str(post.author_id)},
        )
        await app.emit(event)
        await app.emit(event)  # twice: one email
        async with asyncio.timeout(15):
            while True:
                rows = [
                    r
                    for r in await app.email.recent(team.employee.user_id)
                    if r.template == "post_approved"
                ]
                if rows and rows[0].status is EmailStatus.SENT:
                    break
                await asyncio.sleep(0.05)
        assert len(rows) == 1 and rows[0].message_id is not None
        sent = [e for e in mailer.sent if e.tags.get("template") == "post_approved"]
        assert [e.to for e in sent] == [["employee@acme.example.com"]]
        assert sent[0].idempotency_key == rows[0].idempotency_key
