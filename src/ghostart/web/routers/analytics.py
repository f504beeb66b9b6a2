"""Usage analytics: the daily summary and the CSV export (admins), and the page-view beacon."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ghostart.observability.analytics import AnalyticsRecorder
from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind
from ghostart.rbac import Permission, authorize
from ghostart.services.analytics import MAX_DAYS, AnalyticsService
from ghostart.web.auth import OrgPrincipal
from ghostart.web.routers._common import ORG, ghostart_of

router = APIRouter(tags=["analytics"])
ANALYTICS = ORG + "/analytics"

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="how many UTC days, today included")]


class PageView(BaseModel):
    """A page of the web client was shown (a path: no query, no content)."""

    model_config = ConfigDict(extra="forbid")

    page: str = Field(default="/", min_length=1, max_length=100, pattern=r"^/[A-Za-z0-9/_\-.]*$")


def _service(request: Request) -> AnalyticsService:
    return AnalyticsService(ghostart_of(request).context)


@router.get(ANALYTICS + "/daily")
async def daily(request: Request, principal: OrgPrincipal, days: Days = 30) -> dict[str, Any]:
    """Per UTC day: API calls, page views, drafts generated, posts published, active users.

    Also the totals per kind and per user. Admins only.
    """
    return await _service(request).daily(principal, days=days)


@router.get(
    ANALYTICS + "/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per day and user"}},
)
async def export_csv(request: Request, principal: OrgPrincipal, days: Days = 30) -> Response:
    """The daily counts per user as CSV (``day,user_id,api_calls,...``). Admins only."""
    body = await _service(request).export_csv(principal, days=days)
    name = f"ghostart-analytics-{principal.organization_id}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(ANALYTICS + "/page-views", status_code=204)
async def page_view(request: Request, principal: OrgPrincipal, view: PageView) -> Response:
    """Count a page view of the caller (any member); written with the next batch."""
    authorize(principal, Permission.ORG_READ)
    recorder: AnalyticsRecorder | None = getattr(request.app.state, "analytics", None)
    if recorder is not None:
        recorder.record(
            AnalyticsEvent(
                kind=AnalyticsKind.PAGE_VIEW,
                organization_id=principal.organization_id,
                user_id=principal.user_id,
                name=view.page,
                at=ghostart_of(request).clock.now(),
            )
        )
    return Response(status_code=204)
