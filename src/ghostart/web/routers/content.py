"""Content requests: a draft at once from the cache (200), or a job to follow (202)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from ghostart.errors import TooManyRequests
from ghostart.models import ContentRequest, PostStatus
from ghostart.web.auth import OrgPrincipal
from ghostart.web.routers._common import ORG, ghostart_of, web_settings_of
from ghostart.web.schemas import PostOut

router = APIRouter(tags=["content"])

_WAITING = (PostStatus.REQUESTED, PostStatus.GENERATING)


@router.post(
    ORG + "/content-requests",
    responses={202: {"description": "accepted: follow the Location until the draft is ready"}},
)
async def request_content(
    request: Request,
    response: Response,
    principal: OrgPrincipal,
    body: ContentRequest,
    wait: Annotated[float, Query(ge=0, le=30, description="seconds to wait for the draft")] = 0,
) -> PostOut:
    """Ask for a draft in a brand voice."""
    app = ghostart_of(request)
    limit = web_settings_of(request).org_request_rate_limit
    decision = await app.context.rate_limiter.hit(
        f"content-requests:{principal.organization_id}", limit=limit, period=60.0
    )
    if not decision.allowed:
        raise TooManyRequests(
            f"this organization may send at most {limit} content requests a minute",
            retry_after=decision.retry_after,
        )
    post = await app.generation.request(principal, body)
    if post.status in _WAITING and wait > 0:
        post = await app.generation.wait(principal, post, timeout=wait)
    location = f"/v1/organizations/{principal.organization_id}/content-requests/{post.id}"
    if post.status in _WAITING:
        response.status_code = 202
        response.headers["Location"] = location
        response.headers["Retry-After"] = "1"
    return PostOut.of(post)


@router.get(ORG + "/content-requests/{post_id}")
async def content_request_status(
    request: Request,
    response: Response,
    principal: OrgPrincipal,
    post_id: UUID,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> PostOut:
    """Where a request stands: ``requested``/``generating`` (202) or done (200)."""
    app = ghostart_of(request)
    post = await app.generation.get(principal, post_id)
    if post.status in _WAITING and wait > 0:
        post = await app.generation.wait(principal, post, timeout=wait)
    if post.status in _WAITING:
        response.status_code = 202
        response.headers["Retry-After"] = "1"
    return PostOut.of(post)
