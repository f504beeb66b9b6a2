"""Helpers for campaign tests: many employees, waiting for a campaign, comparing drafts."""

from __future__ import annotations

import asyncio
import re
from uuid import UUID

from ghostart.app import Ghostart
from ghostart.models import PostStatus, Principal, Role, User
from ghostart.services.campaigns import CampaignReport
from tests.support import Team

_WAITING = {PostStatus.REQUESTED, PostStatus.GENERATING}


async def add_employees(
    app: Ghostart, team: Team, count: int, *, headlines: list[str] | None = None
) -> list[User]:
    """``count`` new employees of ``team``'s organization (with ``headlines``, if given)."""
    users = []
    for i in range(count):
        user = await app.organizations.ensure_user(f"employee{i}@{team.org.id.hex[:8]}.example")
        await app.organizations.add_member(team.admin, user.id, Role.EMPLOYEE)
        if headlines:
            user = await app.profiles.update_profile(user.id, headline=headlines[i])
        users.append(user)
    return users


def as_employee(team: Team, user_id: UUID) -> Principal:
    """``user_id`` acting as an employee of ``team``'s organization."""
    return Principal(user_id=user_id, organization_id=team.org.id, role=Role.EMPLOYEE)


async def settle(
    app: Ghostart, viewer: Principal, campaign_id: UUID, *, timeout: float = 30
) -> CampaignReport:
    """The campaign once none of its variants is still being drafted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        report = await app.campaigns.get(viewer, campaign_id)
        if not any(v.status in _WAITING for v in report.variants):
            return report
        if loop.time() > deadline:
            raise AssertionError(f"campaign {campaign_id} still drafting: {report.counts}")
        await asyncio.sleep(0.05)


def normalised(text: str) -> str:
    """``text`` without case, punctuation or runs of whitespace: how duplicates are compared."""
    return " ".join(re.sub(r"[\W_]+", " ", text).casefold().split())
