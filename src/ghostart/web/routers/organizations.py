"""Organizations, members, brand voices, plans and usage (the caller's own profile: ``me``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from ghostart.errors import InvalidInput
from ghostart.models import BrandVoiceSpec, OrganizationSettings, Role
from ghostart.services.usage import MAX_MONTHS
from ghostart.web.auth import CurrentUser, OrgPrincipal
from ghostart.web.routers._common import ORG, ghostart_of
from ghostart.web.schemas import BrandVoiceOut, MemberOut, OrganizationOut

router = APIRouter()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewOrganization(_In):
    name: str = Field(min_length=1, max_length=200)


class NewMember(_In):
    email: EmailStr | None = None
    user_id: UUID | None = None
    role: Role = Role.EMPLOYEE


class RoleChange(_In):
    role: Role


@router.get("/plans", tags=["billing"])
async def plans(request: Request) -> dict[str, Any]:
    """The plans on offer (public)."""
    offered = await ghostart_of(request).billing.plans()
    return {"plans": [p.model_dump(mode="json") for p in offered]}


@router.post("/organizations", status_code=201, tags=["organizations"])
async def create_organization(
    request: Request, response: Response, body: NewOrganization, user: CurrentUser
) -> OrganizationOut:
    """Create an organization; the caller becomes its first admin."""
    org, principal = await ghostart_of(request).organizations.create(user.id, body.name)
    response.headers["Location"] = f"/v1/organizations/{org.id}"
    return OrganizationOut.of(org, principal.role.value)


@router.get(ORG, tags=["organizations"])
async def get_organization(request: Request, principal: OrgPrincipal) -> OrganizationOut:
    """The organization."""
    org = await ghostart_of(request).organizations.get(principal)
    return OrganizationOut.of(org, principal.role.value)


@router.patch(ORG + "/settings", tags=["organizations"])
async def update_settings(
    request: Request, principal: OrgPrincipal, settings: OrganizationSettings
) -> OrganizationOut:
    """Replace the organization's settings (admins)."""
    org = await ghostart_of(request).organizations.update_settings(principal, settings)
    return OrganizationOut.of(org, principal.role.value)


@router.get(ORG + "/members", tags=["members"])
async def list_members(request: Request, principal: OrgPrincipal) -> dict[str, list[MemberOut]]:
    """Everyone in the organization."""
    members = await ghostart_of(request).organizations.members(principal)
    return {"items": [MemberOut.of(m) for m in members]}


@router.post(ORG + "/members", status_code=201, tags=["members"])
async def add_member(request: Request, principal: OrgPrincipal, body: NewMember) -> MemberOut:
    """Add a user who has signed in once, by email or id (admins)."""
    app = ghostart_of(request)
    user_id = body.user_id
    if user_id is None and body.email is not None:
        user_id = (await app.organizations.user_by_email(principal, str(body.email))).id
    if user_id is None:
        raise InvalidInput("give the member's email or user_id", field="email")
    return MemberOut.of(await app.organizations.add_member(principal, user_id, body.role))


@router.patch(ORG + "/members/{user_id}", tags=["members"])
async def change_role(
    request: Request, principal: OrgPrincipal, user_id: UUID, body: RoleChange
) -> MemberOut:
    """Change a member's role (admins; the last admin stays)."""
    app = ghostart_of(request)
    return MemberOut.of(await app.organizations.change_role(principal, user_id, body.role))


@router.delete(ORG + "/members/{user_id}", status_code=204, tags=["members"])
async def remove_member(request: Request, principal: OrgPrincipal, user_id: UUID) -> Response:
    """Remove a member (admins), or leave (anyone, for themselves)."""
    await ghostart_of(request).organizations.remove_member(principal, user_id)
    return Response(status_code=204)


@router.get(ORG + "/brand-voices", tags=["brand voices"])
async def list_voices(request: Request, principal: OrgPrincipal) -> dict[str, list[BrandVoiceOut]]:
    """The organization's brand voices."""
    voices = await ghostart_of(request).brand_voices.list(principal)
    return {"items": [BrandVoiceOut.of(v) for v in voices]}


@router.post(ORG + "/brand-voices", status_code=201, tags=["brand voices"])
async def create_voice(
    request: Request, response: Response, principal: OrgPrincipal, body: BrandVoiceSpec
) -> BrandVoiceOut:
    """Create a brand voice (brand creators and admins)."""
    voice = await ghostart_of(request).brand_voices.create(principal, body)
    org = principal.organization_id
    response.headers["Location"] = f"/v1/organizations/{org}/brand-voices/{voice.id}"
    return BrandVoiceOut.of(voice)


@router.get(ORG + "/brand-voices/{voice_id}", tags=["brand voices"])
async def get_voice(request: Request, principal: OrgPrincipal, voice_id: UUID) -> BrandVoiceOut:
    """One brand voice."""
    return BrandVoiceOut.of(await ghostart_of(request).brand_voices.get(principal, voice_id))


@router.put(ORG + "/brand-voices/{voice_id}", tags=["brand voices"])
async def update_voice(
    request: Request,
    principal: OrgPrincipal,
    voice_id: UUID,
    body: BrandVoiceSpec,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
) -> BrandVoiceOut:
    """Replace the editable fields of a brand voice; its version goes up."""
    voice = await ghostart_of(request).brand_voices.update(
        principal, voice_id, body, expected_version=expected_version
    )
    return BrandVoiceOut.of(voice)


@router.delete(ORG + "/brand-voices/{voice_id}", status_code=204, tags=["brand voices"])
async def delete_voice(request: Request, principal: OrgPrincipal, voice_id: UUID) -> Response:
    """Delete a brand voice."""
    await ghostart_of(request).brand_voices.delete(principal, voice_id)
    return Response(status_code=204)


@router.get(ORG + "/usage", tags=["billing"])
async def usage(
    request: Request,
    principal: OrgPrincipal,
    months: Annotated[
        int, Query(ge=1, le=MAX_MONTHS, description="how many calendar months to list")
    ] = 12,
) -> dict[str, Any]:
    """This month's generations against the plan, and (brand creators, admins) tokens and cost.

    Tokens and cost are this month's and, in ``months``, each month's (oldest first): the sums
    of the generations that succeeded in it.
    """
    return await ghostart_of(request).usage.summary(principal, months=months)
