"""Advocacy campaigns: start one (a variant per participant), follow who has published, retry."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from ghostart.models import Campaign, CampaignBrief, CampaignVariant, PostStatus
from ghostart.services.campaigns import MAX_PARTICIPANTS, CampaignReport
from ghostart.web.auth import OrgPrincipal
from ghostart.web.routers._common import ORG, decode_cursor, encode_cursor, ghostart_of, page_size
from ghostart.web.schemas import Out, Page

router = APIRouter(tags=["campaigns"])
CAMPAIGN = ORG + "/campaigns/{campaign_id}"


class NewCampaign(CampaignBrief):
    """A campaign's brief, and who takes part."""

    participants: list[UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PARTICIPANTS,
        description="members who get a variant; left out: every member. Members who turned "
        "campaigns off in their profile are skipped either way.",
    )


class VariantOut(Out):
    user_id: UUID
    post_id: UUID
    variant: int
    status: str
    published_at: datetime | None
    external_url: str | None
    error: str | None

    @classmethod
    def of(cls, variant: CampaignVariant) -> VariantOut:
        return cls.model_validate(variant.model_dump(mode="json"))


class SkippedOut(Out):
    user_id: UUID
    reason: str


class CampaignOut(Out):
    id: UUID
    name: str
    message: str
    link: str | None
    goal: str | None
    call_to_action: str | None
    format: str
    length: str
    language: str
    brand_voice_id: UUID | None
    created_by: UUID | None
    created_at: datetime
    counts: dict[str, int] = Field(description="variants per post status (employees: their own)")

    @classmethod
    def of(cls, campaign: Campaign, counts: dict[PostStatus, int]) -> CampaignOut:
        data = campaign.model_dump(mode="json", exclude={"organization_id"})
        return cls.model_validate(data | {"counts": {s.value: n for s, n in counts.items()}})


class CampaignDetail(CampaignOut):
    variants: list[VariantOut] = Field(description="by participant (employees: their own)")
    published: list[UUID] = Field(description="the participants who have published")

    @classmethod
    def of_report(cls, report: CampaignReport) -> CampaignDetail:
        return cls._build(report.campaign, report.variants)

    @classmethod
    def _build(cls, campaign: Campaign, variants: list[CampaignVariant]) -> CampaignDetail:
        summary = CampaignOut.of(campaign, dict(Counter(v.status for v in variants)))
        return cls(
            **summary.model_dump(),
            variants=[VariantOut.of(v) for v in variants],
            published=[v.user_id for v in variants if v.status is PostStatus.PUBLISHED],
        )


class CampaignStarted(CampaignDetail):
    skipped: list[SkippedOut] = Field(description="chosen members who opted out of campaigns")


@router.post(ORG + "/campaigns", status_code=201)
async def start_campaign(
    request: Request, response: Response, principal: OrgPrincipal, body: NewCampaign
) -> CampaignStarted:
    """Start a campaign: each participant gets their own variant drafted (brand creators)."""
    launch = await ghostart_of(request).campaigns.create(
        principal, body.model_dump(exclude={"participants"}), participants=body.participants
    )
    campaign = launch.campaign
    response.headers["Location"] = (
        f"/v1/organizations/{campaign.organization_id}/campaigns/{campaign.id}"
    )
    detail = CampaignDetail._build(campaign, launch.variants)
    return CampaignStarted(
        **detail.model_dump(),
        skipped=[SkippedOut(user_id=s.user_id, reason=s.reason.value) for s in launch.skipped],
    )


@router.get(ORG + "/campaigns")
async def list_campaigns(
    request: Request,
    principal: OrgPrincipal,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page:
    """The organization's campaigns, newest first, with their variants' progress."""
    size = page_size(request, limit)
    found = await ghostart_of(request).campaigns.list(
        principal, limit=size + 1, before=decode_cursor(cursor)
    )
    page = found[:size]
    last = page[-1].campaign if page else None
    return Page(
        items=[CampaignOut.of(s.campaign, s.counts) for s in page],
        next_cursor=encode_cursor((last.created_at, last.id))
        if last and len(found) > size
        else None,
    )


@router.get(CAMPAIGN)
async def get_campaign(
    request: Request, principal: OrgPrincipal, campaign_id: UUID
) -> CampaignDetail:
    """A campaign and its variants: who has a draft, who has published."""
    report = await ghostart_of(request).campaigns.get(principal, campaign_id)
    return CampaignDetail.of_report(report)


@router.post(CAMPAIGN + "/retry")
async def retry_campaign(
    request: Request, principal: OrgPrincipal, campaign_id: UUID
) -> CampaignDetail:
    """Draft again the variants whose generation failed (brand creators)."""
    report = await ghostart_of(request).campaigns.retry(principal, campaign_id)
    return CampaignDetail.of_report(report)
