"""Campaigns on the embedded adapters: a variant per participant, each on its own path."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any
from uuid import UUID, uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.errors import InvalidInput, NotFound, PermanentError, PermissionDenied, QuotaExceeded
from ghostart.models import (
    AuthorContext,
    BrandVoice,
    ContentRequest,
    Draft,
    PostStatus,
    SkipReason,
)
from ghostart.services.generation import fingerprint
from ghostart.testing import CountingGenerator, EventRecorder
from tests.campaign_support import add_employees, as_employee, normalised, settle
from tests.support import Team, make_team

LINK = "https://acme.example.com/eu-region?utm_source=LinkedIn"
BRIEF = {
    "name": "EU region launch",
    "message": "Our EU region is live, with data residency for every customer",
    "link": LINK,
    "goal": "sign-ups for the launch webinar",
    "call_to_action": "Join the webinar on Thursday",
}


class FailsFor:
    """A generator that refuses one author's variant (while ``failing``) and drafts the rest."""

    def __init__(self, inner: Any, user_id: UUID) -> None:
        self.inner, self.user_id, self.failing = inner, user_id, True
        self.model = inner.model

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        if self.failing and request.author and request.author.user_id == self.user_id:
            raise PermanentError("the provider refused this one")
        draft: Draft = await self.inner.generate(voice, request)
        return draft


async def test_twenty_employees_get_twenty_pairwise_different_drafts(
    app: Ghostart, team: Team, generator: CountingGenerator, events: EventRecorder
) -> None:
    # The hardest case for the offline templates: twenty identical (empty) profiles.
    employees = await add_employees(app, team, 20)
    ids = [u.id for u in employees]
    launch = await app.campaigns.create(team.creator, BRIEF, participants=ids)
    assert [p.author_id for p in launch.posts] == ids and launch.skipped == []
    assert {p.status for p in launch.posts} == {PostStatus.REQUESTED}
    assert {p.campaign_id for p in launch.posts} == {launch.campaign.id}

    report = await settle(app, team.creator, launch.campaign.id)
    assert report.counts == {PostStatus.DRAFT: 20}
    assert [v.variant for v in report.variants] == list(range(20))
    drafts = {}
    for variant in report.variants:
        post = await app.generation.get(as_employee(team, variant.user_id), variant.post_id)
        assert post.author_id == variant.user_id and post.body and LINK in post.body
        drafts[variant.user_id] = post.body
    assert set(drafts) == set(ids)
    texts = [normalised(body) for body in drafts.values()]
    assert len(set(texts)) == 20, "two colleagues got the same text"
    for one, other in itertools.combinations(texts, 2):
        assert one != other
    # Twenty generator calls, each with its own author: no shared generation, no cached draft.
    assert generator.count == 20
    assert sorted(str(r.author.user_id) for _, r in generator.calls if r.author) == sorted(
        str(i) for i in ids
    )
    async with app.store.unit_of_work(readonly=True) as uow:
        posts = [await uow.posts.get(team.org.id, p.id) for p in launch.posts]
        generations = {p.generation_id for p in posts if p}
        fingerprints = {(await uow.generations.get(g)).fingerprint for g in generations if g}  # type: ignore[union-attr]
    assert len(generations) == len(fingerprints) == 20
    [started] = [e for e in events.events if e.name == "campaign.created"]
    assert started.payload["campaign_id"] == str(launch.campaign.id)
    assert len(started.payload["post_ids"]) == 20


async def test_one_failed_generation_does_not_sink_the_others_and_can_be_retried(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    employees = await add_employees(app, team, 20)
    unlucky = employees[7].id
    generator.inner = failing = FailsFor(generator.inner, unlucky)
    launch = await app.campaigns.create(team.creator, BRIEF, participants=[u.id for u in employees])
    report = await settle(app, team.creator, launch.campaign.id)
    assert report.counts == {PostStatus.DRAFT: 19, PostStatus.FAILED: 1}
    [failed] = [v for v in report.variants if v.status is PostStatus.FAILED]
    assert failed.user_id == unlucky and failed.error and "refused" in failed.error

    failing.failing = False
    calls = generator.count
    retried = await app.campaigns.retry(team.creator, launch.campaign.id)
    assert retried.counts == {PostStatus.DRAFT: 19, PostStatus.REQUESTED: 1}
    report = await settle(app, team.creator, launch.campaign.id)
    assert report.counts == {PostStatus.DRAFT: 20}
    assert generator.count == calls + 1  # only the failed variant was drafted again
    again = await app.campaigns.retry(team.creator, launch.campaign.id)
    assert again.counts == {PostStatus.DRAFT: 20} and generator.count == calls + 1


async def test_the_profile_and_past_posts_give_the_angle(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    [ada] = await add_employees(app, team, 1, headlines=["Staff engineer, payments"])
    await app.profiles.update_profile(ada.id, name="Ada", about="I keep checkout fast.")
    ada_p = as_employee(team, ada.id)
    old = await app.generation.request(ada_p, {"topic": "What on-call taught me"})
    old = await app.generation.wait(ada_p, old, timeout=10)
    await app.posts.submit(ada_p, old.id)
    await app.posts.approve(team.creator, old.id)
    await app.posts.publish_now(ada_p, old.id)
    await _until_published(app, ada_p, old.id)

    launch = await app.campaigns.create(team.creator, BRIEF, participants=[ada.id])
    await settle(app, team.creator, launch.campaign.id)
    request = generator.calls[-1][1]
    assert request.author is not None and request.campaign_id == launch.campaign.id
    assert (request.author.name, request.author.headline, request.author.about) == (
        "Ada",
        "Staff engineer, payments",
        "I keep checkout fast.",
    )
    assert old.body and request.author.past_posts == (old.body,)
    post = await app.generation.get(ada_p, launch.posts[0].id)
    assert post.body and "Staff engineer, payments" in post.body


async def _until_published(app: Ghostart, who: Any, post_id: UUID) -> None:
    for _ in range(200):
        if (await app.generation.get(who, post_id)).status is PostStatus.PUBLISHED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never published")


async def test_variants_go_through_review_and_the_campaign_shows_who_published(
    app: Ghostart, team: Team
) -> None:
    employees = await add_employees(app, team, 3)
    launch = await app.campaigns.create(team.admin, BRIEF, participants=[u.id for u in employees])
    await settle(app, team.admin, launch.campaign.id)
    first = as_employee(team, employees[0].id)
    post = launch.posts[0]
    await app.posts.submit(first, post.id)
    await app.posts.approve(team.creator, post.id)
    await app.posts.publish_now(first, post.id)
    await _until_published(app, first, post.id)
    report = await app.campaigns.get(team.creator, launch.campaign.id)
    assert report.published == [employees[0].id]
    assert report.counts == {PostStatus.PUBLISHED: 1, PostStatus.DRAFT: 2}
    # An employee sees the campaign and their own variant only.
    mine = await app.campaigns.get(first, launch.campaign.id)
    assert [v.user_id for v in mine.variants] == [employees[0].id]
    [summary] = await app.campaigns.list(first)
    assert summary.counts == {PostStatus.PUBLISHED: 1}
    [everyone] = await app.campaigns.list(team.creator)
    assert everyone.counts == {PostStatus.PUBLISHED: 1, PostStatus.DRAFT: 2}


async def test_who_takes_part(app: Ghostart, team: Team) -> None:
    employees = await add_employees(app, team, 3)
    await app.profiles.update_profile(employees[1].id, joins_campaigns=False)
    named = await app.campaigns.create(
        team.creator, BRIEF, participants=[u.id for u in employees] + [employees[0].id]
    )
    assert [p.author_id for p in named.posts] == [employees[0].id, employees[2].id]
    assert [(s.user_id, s.reason) for s in named.skipped] == [
        (employees[1].id, SkipReason.OPTED_OUT)
    ]
    # Nobody named: every member who takes part (admin, creator, employee, and two of three).
    everyone = await app.campaigns.create(team.creator, BRIEF)
    assert len(everyone.posts) == 5 and [s.user_id for s in everyone.skipped] == [employees[1].id]
    with pytest.raises(InvalidInput, match="not members") as outsider:
        await app.campaigns.create(team.creator, BRIEF, participants=[uuid4()])
    assert outsider.value.details["field"] == "participants"
    with pytest.raises(InvalidInput, match="turned them off"):
        await app.campaigns.create(team.creator, BRIEF, participants=[employees[1].id])
    for bad in ([], ["not-a-uuid"], "everyone"):
        with pytest.raises(InvalidInput):
            await app.campaigns.create(team.creator, BRIEF, participants=bad)  # type: ignore[arg-type]


async def test_rules_of_starting_and_reading_campaigns(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    with pytest.raises(PermissionDenied):
        await app.campaigns.create(team.employee, BRIEF)
    for brief in (
        BRIEF | {"message": ""},
        BRIEF | {"link": "javascript:alert(1)"},
        BRIEF | {"language": "English"},
        BRIEF | {"participants": []},
    ):
        with pytest.raises(InvalidInput):
            await app.campaigns.create(team.creator, brief)
    with pytest.raises(NotFound):
        await app.campaigns.create(team.creator, BRIEF | {"brand_voice_id": str(uuid4())})
    launch = await app.campaigns.create(team.creator, BRIEF)
    with pytest.raises(PermissionDenied):
        await app.campaigns.retry(team.employee, launch.campaign.id)
    other = await make_team(app, "Other")
    for call in (app.campaigns.get, app.campaigns.retry):
        with pytest.raises(NotFound):
            await call(other.admin, launch.campaign.id)
    assert await app.campaigns.list(other.admin) == []
    # Clients can not claim a campaign or an author for an ordinary request.
    for smuggled in ({"author": {"user_id": str(uuid4())}}, {"campaign_id": str(uuid4())}):
        with pytest.raises(InvalidInput):
            await app.generation.request(team.employee, {"topic": "Mine"} | smuggled)


async def test_a_campaign_needs_its_generations_left_in_the_quota(
    app: Ghostart, team: Team
) -> None:
    limit = app.settings.default_monthly_generations
    assert limit is not None
    employees = await add_employees(app, team, 3)
    for i in range(limit - 2):
        await app.generation.request(team.creator, {"topic": f"Filler number {i}"})
    with pytest.raises(QuotaExceeded, match="needs 3 generations"):
        await app.campaigns.create(team.creator, BRIEF, participants=[u.id for u in employees])
    assert await app.campaigns.list(team.creator) == []  # nothing of it was written
    launch = await app.campaigns.create(team.creator, BRIEF, participants=[employees[0].id])
    assert len(launch.posts) == 1


async def test_every_variant_is_queued_even_when_an_enqueue_fails(
    app: Ghostart, team: Team
) -> None:
    employees = await add_employees(app, team, 5)
    queue = app.context.queue
    real, failures = queue.enqueue, iter([True, False, True])

    async def flaky(job_id: UUID, **kw: Any) -> None:
        if next(failures, False):
            raise ConnectionError("the queue went away")
        await real(job_id, **kw)

    queue.enqueue = flaky  # type: ignore[method-assign]
    try:
        launch = await app.campaigns.create(
            team.creator, BRIEF, participants=[u.id for u in employees]
        )
        report = await settle(app, team.creator, launch.campaign.id)  # the reconciler's turn
    finally:
        queue.enqueue = real  # type: ignore[method-assign]
    assert report.counts == {PostStatus.DRAFT: 5}


def test_the_fingerprint_separates_authors_and_campaigns() -> None:
    voice = BrandVoice(organization_id=uuid4(), name="V")
    base = ContentRequest(topic="Our EU region is live")
    one = base.model_copy(update={"author": _author(), "campaign_id": uuid4()})
    two = one.model_copy(update={"author": _author()})
    three = one.model_copy(update={"campaign_id": uuid4()})
    prints = {fingerprint(voice.organization_id, voice, "m", r) for r in (base, one, two, three)}
    assert len(prints) == 4
    # A request without the new fields keeps the fingerprint it always had.
    assert base.normalised() == {
        "topic": "our eu region is live",
        "format": "insight",
        "length": "medium",
        "call_to_action": None,
        "language": "en",
    }


def _author() -> AuthorContext:
    return AuthorContext(user_id=uuid4())
