"""Helpers shared by the tests: settings for a temporary home, and a ready-made team."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostart.app import Ghostart
from ghostart.models import BrandVoice, Organization, Principal, Role
from ghostart.settings import Settings, load_settings


def make_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a test app living in ``home``."""
    base: dict[str, Any] = {
        "home": home,
        "reconcile_interval_seconds": 0.2,
        "shutdown_grace_seconds": 2.0,
        "generation_rate_limit": 10_000,
    }
    return load_settings(**(base | overrides))


@dataclass
class Team:
    """An organization with one member of each role and a brand voice."""

    org: Organization
    admin: Principal
    creator: Principal
    employee: Principal
    voice: BrandVoice

    def as_role(self, role: Role) -> Principal:
        return {
            Role.ADMIN: self.admin,
            Role.BRAND_CREATOR: self.creator,
            Role.EMPLOYEE: self.employee,
        }[role]


async def make_team(app: Ghostart, name: str = "Acme") -> Team:
    """Create an organization with an admin, a brand creator, an employee and a brand voice."""
    admin_user = await app.organizations.ensure_user(f"admin@{name.lower()}.example.com")
    org, admin = await app.organizations.create(admin_user.id, name)
    members = {}
    for role in (Role.BRAND_CREATOR, Role.EMPLOYEE):
        user = await app.organizations.ensure_user(f"{role.value}@{name.lower()}.example.com")
        await app.organizations.add_member(admin, user.id, role)
        members[role] = Principal(user_id=user.id, organization_id=org.id, role=role)
    voice = await app.brand_voices.create(
        admin,
        {"name": "House voice", "topics": ["engineering culture"], "words_to_avoid": ["synergy"]},
    )
    return Team(org, admin, members[Role.BRAND_CREATOR], members[Role.EMPLOYEE], voice)
