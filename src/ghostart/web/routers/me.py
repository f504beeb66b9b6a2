"""The caller's own profile and email preferences (signed-in users; API keys get 401)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ghostart.models import TimeZoneName
from ghostart.web.auth import CurrentUser
from ghostart.web.routers._common import ghostart_of
from ghostart.web.schemas import EmailPreferencesOut, OrganizationOut, UserOut

router = APIRouter(prefix="/me", tags=["me"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProfileChanges(_In):
    """What to change; fields left out stay as they are."""

    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="null clears the name"
    )
    timezone: TimeZoneName | None = Field(
        default=None, description="IANA time zone, e.g. Europe/Paris (can not be null)"
    )
    headline: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="your role in your own words; campaign variants draw on it (null clears it)",
    )
    about: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="a few sentences about your work, for the same purpose (null clears it)",
    )
    joins_campaigns: StrictBool | None = Field(
        default=None, description="false: no variants of advocacy campaigns (can not be null)"
    )


class EmailPreferenceChanges(_In):
    """Optional categories to turn on or off; ``transactional`` is not one (always sent)."""

    notifications: StrictBool | None = Field(default=None, description="can not be null")
    digest: StrictBool | None = Field(default=None, description="can not be null")


@router.get("")
async def me(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The signed-in user and the organizations they belong to."""
    orgs = await ghostart_of(request).organizations.organizations_of(user.id)
    return {
        "user": UserOut.of(user).model_dump(mode="json"),
        "organizations": [
            OrganizationOut.of(org, role.value).model_dump(mode="json") for org, role in orgs
        ],
    }


@router.patch("")
async def update_me(request: Request, user: CurrentUser, body: ProfileChanges) -> UserOut:
    """Change the caller's profile; returns the user as changed."""
    changes = body.model_dump(exclude_unset=True)
    updated = await ghostart_of(request).profiles.update_profile(user.id, **changes)
    return UserOut.of(updated)


@router.get("/email-preferences")
async def get_email_preferences(user: CurrentUser) -> EmailPreferencesOut:
    """Every email category and whether the caller gets it."""
    return EmailPreferencesOut.of(user.email_preferences)


@router.patch("/email-preferences")
async def update_email_preferences(
    request: Request, user: CurrentUser, body: EmailPreferenceChanges
) -> EmailPreferencesOut:
    """Turn optional categories on or off; the ones left out stay as they are."""
    changes = body.model_dump(exclude_unset=True)
    updated = await ghostart_of(request).profiles.set_email_preferences(user.id, changes)
    return EmailPreferencesOut.of(updated)
