"""Posts: list, read, edit, and the review lifecycle (submit, approve, reject, schedule, publish)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ghostart.models import PostStatus
from ghostart.web.auth import OrgPrincipal
from ghostart.web.routers._common import (
    ORG,
    decode_cursor,
    encode_cursor,
    ghostart_of,
    page_size,
)
from ghostart.web.schemas import Page, PostOut

router = APIRouter(tags=["posts"])
POST = ORG + "/posts/{post_id}"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Edit(_In):
    body: str = Field(min_length=1, max_length=3000)
    expected_revision: int | None = Field(default=None, ge=1)


class Note(_In):
    note: str | None = Field(default=None, max_length=1000)


class Rejection(_In):
    note: str = Field(min_length=1, max_length=1000)


class Schedule(_In):
    at: AwareDatetime


@router.get(ORG + "/posts")
async def list_posts(
    request: Request,
    principal: OrgPrincipal,
    status: PostStatus | None = None,
    author_id: UUID | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page:
    """Posts the caller may read, newest first (employees: their own)."""
    size = page_size(request, limit)
    posts = await ghostart_of(request).posts.list(
        principal,
        status=status,
        author_id=author_id,
        limit=size + 1,
        before=decode_cursor(cursor),
    )
    page = posts[:size]
    more = len(posts) > size
    return Page(
        items=[PostOut.of(p) for p in page],
        next_cursor=encode_cursor((page[-1].created_at, page[-1].id)) if more else None,
    )


@router.get(POST)
async def get_post(request: Request, principal: OrgPrincipal, post_id: UUID) -> PostOut:
    """One post."""
    return PostOut.of(await ghostart_of(request).generation.get(principal, post_id))


@router.patch(POST)
async def edit_post(
    request: Request, principal: OrgPrincipal, post_id: UUID, body: Edit
) -> PostOut:
    """Change the text (``expected_revision`` guards against lost updates)."""
    post = await ghostart_of(request).posts.edit(
        principal, post_id, body.body, expected_revision=body.expected_revision
    )
    return PostOut.of(post)


@router.post(POST + "/submit")
async def submit(request: Request, principal: OrgPrincipal, post_id: UUID) -> PostOut:
    """Send a draft for review (or straight to approved when none is needed)."""
    return PostOut.of(await ghostart_of(request).posts.submit(principal, post_id))


@router.post(POST + "/approve")
async def approve(
    request: Request, principal: OrgPrincipal, post_id: UUID, body: Note | None = None
) -> PostOut:
    """Approve a post in review (brand creators and admins)."""
    note = body.note if body else None
    return PostOut.of(await ghostart_of(request).posts.approve(principal, post_id, note=note))


@router.post(POST + "/reject")
async def reject(
    request: Request, principal: OrgPrincipal, post_id: UUID, body: Rejection
) -> PostOut:
    """Send a post in review back to its author with a note."""
    return PostOut.of(await ghostart_of(request).posts.reject(principal, post_id, note=body.note))


@router.post(POST + "/schedule")
async def schedule(
    request: Request, principal: OrgPrincipal, post_id: UUID, body: Schedule
) -> PostOut:
    """Publish an approved post at a time (with a zone)."""
    at: datetime = body.at
    return PostOut.of(await ghostart_of(request).posts.schedule(principal, post_id, at))


@router.post(POST + "/unschedule")
async def unschedule(request: Request, principal: OrgPrincipal, post_id: UUID) -> PostOut:
    """Take a scheduled post back to approved."""
    return PostOut.of(await ghostart_of(request).posts.unschedule(principal, post_id))


@router.post(POST + "/publish")
async def publish_now(request: Request, principal: OrgPrincipal, post_id: UUID) -> PostOut:
    """Publish an approved post now (a worker takes it at once)."""
    return PostOut.of(await ghostart_of(request).posts.publish_now(principal, post_id))
