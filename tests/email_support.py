"""A team spread over three time zones with a week of posts, for the digest scheduler's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from ghostart.app import Ghostart
from ghostart.models import Post, PostStatus
from tests.support import Team, make_team

#: Monday 7 December 2026, 00:00 UTC.
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
#: Each member's time zone, and when their Monday 09:00 is in UTC.
ZONES = {
    "admin": ("Asia/Kolkata", MONDAY + timedelta(hours=3, minutes=30)),
    "employee": ("Europe/Paris", MONDAY + timedelta(hours=8)),
    "creator": ("America/New_York", MONDAY + timedelta(hours=14)),
}


def members(team: Team) -> dict[str, UUID]:
    return {
        "admin": team.admin.user_id,
        "creator": team.creator.user_id,
        "employee": team.employee.user_id,
    }


async def digest_team(app: Ghostart, *, name: str = "Acme") -> Team:
    """A team whose members live in ``ZONES``, each with a post changed in the week before."""
    team = await make_team(app, name)
    for who, user_id in members(team).items():
        await app.profiles.update_profile(user_id, timezone=ZONES[who][0])
    async with app.store.unit_of_work() as uow:
        for who, user_id in members(team).items():
            for days in (1, 8):  # one post in the digest's week, one the week before
                when = MONDAY - timedelta(days=days)
                await uow.posts.add(
                    Post(
                        organization_id=team.org.id,
                        author_id=user_id,
                        body=f"{who}: <script>x()</script> a week of posts",
                        status=PostStatus.PUBLISHED,
                        created_at=when,
                        updated_at=when,
                    )
                )
    return team
