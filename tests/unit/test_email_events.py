"""Each domain event produces exactly the emails it should, to the right people.

Events go through ``Ghostart.emit`` (the plugin event hook) into the email outbox, which the
tests read back; preferences and suppressions decide who gets optional mail.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.email.service import address_hash
from ghostart.models import Campaign, DomainEvent, EventName, Post, PostStatus
from ghostart.ports.email import EmailStatus, OutboxEmail
from ghostart.settings import Settings
from tests.support import Team, make_team

SRC = Path(__file__).resolve().parents[2] / "src" / "ghostart"


@dataclass
class World:
    app: Ghostart
    team: Team
    outsider: UUID
    posts: dict[str, Post]  # by author role
    campaign: Campaign

    def user(self, who: str) -> UUID:
        if who == "outsider":
            return self.outsider
        return {"admin": self.team.admin, "creator": self.team.creator}.get(
            who, self.team.employee
        ).user_id


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    # No worker: the rows stay as the event handler wrote them.
    app = Ghostart.from_settings(settings)
    await app.start(worker=False)
    try:
        team = await make_team(app)
        outsider = (await app.organizations.ensure_user("outsider@elsewhere.example.com")).id
        campaign = Campaign(
            organization_id=team.org.id,
            created_by=team.admin.user_id,
            name="Spring",
            message="Go spring",
        )
        posts = {}
        async with app.store.unit_of_work() as uow:
            await uow.campaigns.add(campaign)
            for who, principal in (("employee", team.employee), ("creator", team.creator)):
                posts[who] = Post(
                    organization_id=team.org.id,
                    author_id=principal.user_id,
                    body=f"<script>alert('{who}')</script> Hiring is onboarding.",
                    status=PostStatus.DRAFT,
                    campaign_id=campaign.id,
                    external_url="https://www.linkedin.com/feed/update/urn:li:share:1",
                )
                await uow.posts.add(posts[who])
        yield World(app, team, outsider, posts, campaign)
    finally:
        await app.aclose()


async def _outbox(app: Ghostart, users: list[UUID]) -> list[OutboxEmail]:
    async with app.store.unit_of_work(readonly=True) as uow:
        return [row for u in users for row in await uow.email.list_for_user(u, limit=500)]


def _post_event(name: str, who: str, **extra: Any) -> Callable[[World], DomainEvent]:
    def make(w: World) -> DomainEvent:
        post = w.posts[who]
        payload = {"post_id": str(post.id), "author_id": str(post.author_id), "by": "x"} | extra
        return DomainEvent(name=name, organization_id=w.team.org.id, payload=payload)

    return make


def _org_event(name: str, **payload: Any) -> Callable[[World], DomainEvent]:
    def make(w: World) -> DomainEvent:
        resolved = {k: str(w.user(v)) if k == "user_id" else v for k, v in payload.items()}
        return DomainEvent(name=name, organization_id=w.team.org.id, payload=resolved)

    return make


def _generation(name: str, **extra: Any) -> Callable[[World], DomainEvent]:
    def make(w: World) -> DomainEvent:
        post = w.posts["employee"]
        payload = {
            "generation_id": str(uuid4()),
            "post_ids": [str(post.id)],
            "author_ids": [str(post.author_id)],
        } | extra
        return DomainEvent(name=name, organization_id=w.team.org.id, payload=payload)

    return make


def _campaign(w: World) -> DomainEvent:
    return DomainEvent(
        name=EventName.CAMPAIGN_CREATED,
        organization_id=w.team.org.id,
        payload={
            "campaign_id": str(w.campaign.id),
            "by": str(w.team.admin.user_id),
            "post_ids": [str(w.posts["employee"].id), str(w.posts["creator"].id)],
        },
    )


# (event, {recipient: template}) — exactly these emails, and nobody else gets one.
CASES: list[tuple[str, Callable[[World], DomainEvent], dict[str, str]]] = [
    ("content.generated", _generation(EventName.CONTENT_GENERATED), {"employee": "draft_ready"}),
    (
        "content.failed",
        _generation(EventName.CONTENT_FAILED, error="moderation", rejected=True),
        {"employee": "generation_failed"},
    ),
    (
        "post.submitted (employee's post): reviewers, not the author",
        _post_event(EventName.POST_SUBMITTED, "employee"),
        {"admin": "review_requested", "creator": "review_requested"},
    ),
    (
        "post.submitted (creator's post): the author is no reviewer of it",
        _post_event(EventName.POST_SUBMITTED, "creator"),
        {"admin": "review_requested"},
    ),
    (
        "post.approved",
        _post_event(EventName.POST_APPROVED, "employee"),
        {"employee": "post_approved"},
    ),
    (
        "post.rejected",
        _post_event(EventName.POST_REJECTED, "employee", note="Shorter."),
        {"employee": "post_rejected"},
    ),
    (
        "post.scheduled",
        _post_event(EventName.POST_SCHEDULED, "creator"),
        {"creator": "post_scheduled"},
    ),
    (
        "post.published",
        _post_event(EventName.POST_PUBLISHED, "employee", external_id="urn:li:share:1"),
        {"employee": "post_published"},
    ),
    (
        "post.failed",
        _post_event(EventName.POST_FAILED, "employee", error="LinkedIn refused the token"),
        {"employee": "publish_failed"},
    ),
    (
        "campaign.created: each participant, for their own post",
        _campaign,
        {"employee": "campaign_post_ready", "creator": "campaign_post_ready"},
    ),
    (
        "member.added",
        _org_event(EventName.MEMBER_ADDED, user_id="employee", role="employee"),
        {"employee": "member_added"},
    ),
    (
        "member.role_changed",
        _org_event(EventName.MEMBER_ROLE_CHANGED, user_id="creator", role="admin"),
        {"creator": "member_role_changed"},
    ),
    (
        "member.removed: the removed user, no longer a member",
        _org_event(EventName.MEMBER_REMOVED, user_id="outsider"),
        {"outsider": "member_removed"},
    ),
    (
        "billing.plan_changed: the admins",
        _org_event(EventName.BILLING_PLAN_CHANGED, to="team"),
        {"admin": "plan_changed"},
    ),
    (
        "billing.payment_failed: the admins",
        _org_event(EventName.BILLING_PAYMENT_FAILED, plan="team", amount_due=4900),
        {"admin": "payment_failed"},
    ),
    (
        "billing.trial_ending: the admins",
        _org_event(EventName.BILLING_TRIAL_ENDING, plan="team", trial_end="2026-12-10T00:00:00Z"),
        {"admin": "trial_ending"},
    ),
    (
        "linkedin.connection.expiring",
        _org_event(
            EventName.LINKEDIN_EXPIRING, user_id="creator", expires_at="2026-12-10T09:00:00+00:00"
        ),
        {"creator": "linkedin_reconnect"},
    ),
    (
        "linkedin.connection.needs_reconnect",
        _org_event(EventName.LINKEDIN_NEEDS_RECONNECT, user_id="employee"),
        {"employee": "linkedin_reconnect"},
    ),
    (
        "post.approved of a user who is no member: nobody (tenancy)",
        _org_event(EventName.POST_APPROVED, post_id=str(uuid4()), author_id=str(uuid4())),
        {},
    ),
    (
        "member.added of someone outside the organization: nobody",
        _org_event(EventName.MEMBER_ADDED, user_id="outsider", role="employee"),
        {},
    ),
    ("user.profile_updated sends nothing", _org_event(EventName.USER_PROFILE_UPDATED), {}),
]


def _everyone(w: World) -> dict[UUID, str]:
    names = ("admin", "creator", "employee", "outsider")
    return {w.user(n): n for n in names}


@pytest.mark.parametrize(("event", "make", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_each_event_sends_exactly_its_emails(
    world: World, event: str, make: Callable[[World], DomainEvent], expected: dict[str, str]
) -> None:
    people = _everyone(world)
    before = {r.id for r in await _outbox(world.app, list(people))}
    domain_event = make(world)
    await world.app.emit(domain_event)
    await world.app.emit(domain_event)  # delivered twice: written once
    rows = [r for r in await _outbox(world.app, list(people)) if r.id not in before]

    got = sorted((people[r.user_id], r.template) for r in rows)
    assert got == sorted(expected.items())
    for row in rows:
        assert row.status is EmailStatus.PENDING and row.attempts == 0
        assert row.organization_id == world.team.org.id
        email = world.app.email.build(row)  # the data renders, and to the right address
        assert email.to == [row.recipient]
        assert email.idempotency_key == row.idempotency_key
        if row.template in ("draft_ready", "post_approved", "campaign_post_ready"):
            assert "&lt;script&gt;" in (email.html or "") and "<script>" not in (email.html or "")


async def test_opted_out_and_suppressed_users_get_only_transactional_mail(world: World) -> None:
    app, team = world.app, world.team
    employee = team.employee.user_id
    await app.profiles.set_email_preferences(employee, {"notifications": False})
    async with app.store.unit_of_work() as uow:  # the creator's address bounced for good
        await uow.email.suppress(
            address_hash("Brand_Creator@acme.example.com"),
            reason="bounced",
            provider="test",
            message_id=None,
            at=app.clock.now(),
        )
    people = _everyone(world)
    for make in (
        _post_event(EventName.POST_APPROVED, "employee"),
        _post_event(EventName.POST_APPROVED, "creator"),
        _post_event(EventName.POST_SUBMITTED, "employee"),
        _org_event(EventName.MEMBER_ROLE_CHANGED, user_id="employee", role="brand_creator"),
        _org_event(EventName.MEMBER_ROLE_CHANGED, user_id="creator", role="admin"),
    ):
        await app.emit(make(world))
    got = sorted((people[r.user_id], r.template) for r in await _outbox(app, list(people)))
    assert ("employee", "post_approved") not in got  # opted out of notifications
    assert ("creator", "post_approved") not in got  # suppressed
    assert ("creator", "review_requested") not in got
    assert ("admin", "review_requested") in got  # the others still get theirs
    assert ("employee", "member_role_changed") in got  # transactional: always
    assert ("creator", "member_role_changed") in got


async def test_an_odd_payload_queues_nothing_and_raises_nothing(world: World) -> None:
    people = list(_everyone(world))
    before = await _outbox(world.app, people)
    bad = DomainEvent(
        name=EventName.POST_APPROVED,
        organization_id=world.team.org.id,
        payload={"post_id": "not-a-uuid", "author_id": 42},
    )
    await world.app.emit(bad)
    assert await _outbox(world.app, people) == before


def test_no_service_calls_the_mailer_directly() -> None:
    # Only the email sender sends; everything else emits events (DESIGN.md section 3).
    allowed = {SRC / "email" / "service.py", SRC / "email" / "sending.py"}
    calls = re.compile(r"mailer\s*\.\s*send(_batch)?\s*\(")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path not in allowed
        and "testing" not in path.parts
        and calls.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
