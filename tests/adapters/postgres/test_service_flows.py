"""The services on PostgreSQL with row-level security: every flow runs as its caller and works.

Each call below opens its units of work as the principal (``authenticated``, the caller's claims)
or as the system (``service_role``), so a policy too strict for the service would fail here: a
member added, a draft requested and written by the worker, reviewed, scheduled and published, an
API key made, used, touched and revoked, a member leaving.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.errors import NotFound
from ghostart.models import Permission, PostStatus, Role
from ghostart.testing import CountingGenerator
from tests.campaign_support import add_employees, as_employee, settle
from tests.support import Team, make_settings, make_team


@pytest.fixture
async def app(tmp_path: Path, postgres_url: str) -> AsyncIterator[Ghostart]:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = make_settings(tmp_path / "home", database_url=postgres_url, secret_keys=f"k1:{key}")
    application = Ghostart.from_settings(settings, generator=CountingGenerator())
    async with application:
        yield application


@pytest.fixture
async def team(app: Ghostart) -> Team:
    return await make_team(app)  # adds members: the user lookup is the system's read


async def _until(app: Ghostart, team: Team, post_id: Any, status: PostStatus) -> Any:
    for _ in range(200):
        post = await app.generation.get(team.employee, post_id)
        if post.status is status:
            return post
        await asyncio.sleep(0.05)
    raise AssertionError(f"post {post_id} never became {status}: {post.status}")


async def test_a_post_from_request_to_publication(app: Ghostart, team: Team) -> None:
    assert type(app.store).__name__ == "PostgresStore"
    post = await app.generation.request(team.employee, {"topic": "Why we write design docs"})
    post = await app.generation.wait(team.employee, post, timeout=20)
    assert post.status is PostStatus.DRAFT and post.body
    await app.posts.submit(team.employee, post.id)
    await app.posts.approve(team.creator, post.id)
    await app.posts.publish_now(team.employee, post.id)
    published = await _until(app, team, post.id, PostStatus.PUBLISHED)
    assert published.external_id
    quota = await app.generation.quota(team.employee)
    assert quota["used"] == 1
    assert [p.id for p in await app.posts.list(team.employee)] == [post.id]
    assert [p.id for p in await app.posts.list(team.creator)] == [post.id]


async def test_scheduling_and_unscheduling_write_the_outbox_as_the_caller(
    app: Ghostart, team: Team
) -> None:
    post = await app.generation.request(team.employee, {"topic": "Quarterly planning"})
    post = await app.generation.wait(team.employee, post, timeout=20)
    await app.posts.submit(team.employee, post.id)
    await app.posts.approve(team.creator, post.id)
    later = app.clock.now() + timedelta(hours=1)
    scheduled = await app.posts.schedule(team.employee, post.id, later)
    assert scheduled.status is PostStatus.SCHEDULED
    back = await app.posts.unschedule(team.employee, post.id)
    assert back.status is PostStatus.APPROVED
    async with app.store.unit_of_work(readonly=True) as uow:
        statuses = sorted(j.status.value for j in await uow.jobs.for_subject(post.id))
    assert statuses == ["cancelled"]


async def test_members_keys_and_voices_as_their_callers(app: Ghostart, team: Team) -> None:
    admin = team.admin
    voice = await app.brand_voices.create(team.creator, {"name": "Second voice"})
    await app.brand_voices.update(team.creator, voice.id, {"name": "Renamed voice"})
    await app.brand_voices.delete(team.creator, voice.id)

    key, raw = await app.api_keys.create(admin, "ci", [Permission.ORG_READ, Permission.POST_CREATE])
    principal, used = await app.api_keys.authenticate(raw)
    assert principal.user_id == admin.user_id and used.last_used_at is not None
    assert (await app.organizations.get(principal)).id == team.org.id
    assert [k.id for k in await app.api_keys.list(admin)] == [key.id]
    assert (await app.api_keys.revoke(admin, key.id)).revoked_at is not None

    newcomer = await app.organizations.ensure_user(f"new-{uuid4().hex[:6]}@example.com")
    found = await app.organizations.user_by_email(admin, str(newcomer.email))
    await app.organizations.add_member(admin, found.id, Role.EMPLOYEE)
    await app.organizations.change_role(admin, found.id, Role.BRAND_CREATOR)
    assert len(await app.organizations.members(team.creator)) == 4
    await app.organizations.remove_member(team.employee, team.employee.user_id)  # leaving
    assert len(await app.organizations.members(admin)) == 3


async def test_one_organization_never_reaches_another_through_the_services(
    app: Ghostart, team: Team
) -> None:
    other = await make_team(app, "Globex")
    post = await app.generation.request(team.employee, {"topic": "Ours only"})
    # An organization id taken from a request, never checked: the database still says no.
    forged = other.admin.model_copy(update={"organization_id": team.org.id})
    with pytest.raises(NotFound):
        await app.generation.get(forged, post.id)
    assert await app.posts.list(forged) == []
    assert await app.posts.list(other.admin) == []


async def test_a_campaign_as_its_callers(app: Ghostart, team: Team) -> None:
    # Started as the brand creator (variants for colleagues, in one transaction under the
    # policies), drafted by the worker, read back by an employee, published, summed per month.
    employees = await add_employees(app, team, 3)
    launch = await app.campaigns.create(
        team.creator,
        {"name": "Launch", "message": "Our EU region is live", "link": "https://example.com/eu"},
        participants=[u.id for u in employees],
    )
    report = await settle(app, team.creator, launch.campaign.id)
    assert report.counts == {PostStatus.DRAFT: 3}
    first = as_employee(team, employees[0].id)
    [mine] = (await app.campaigns.get(first, launch.campaign.id)).variants
    post = await app.generation.get(first, mine.post_id)
    assert post.body and "https://example.com/eu" in post.body
    await app.posts.submit(first, post.id)
    await app.posts.approve(team.creator, post.id)
    await app.posts.publish_now(first, post.id)
    for _ in range(200):
        report = await app.campaigns.get(team.admin, launch.campaign.id)
        if report.published:
            break
        await asyncio.sleep(0.05)
    assert report.published == [employees[0].id]
    [summary] = await app.campaigns.list(first)
    assert summary.counts == {PostStatus.PUBLISHED: 1}
    usage = await app.usage.summary(team.creator, months=1)
    assert usage["months"][0]["generations"] == 3
    # A forged organization id reaches nothing of it.
    other = await make_team(app, "Initech")
    forged = other.admin.model_copy(update={"organization_id": team.org.id})
    with pytest.raises(NotFound):
        await app.campaigns.get(forged, launch.campaign.id)
    assert await app.campaigns.list(forged) == []
