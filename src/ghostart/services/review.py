"""Review and scheduling: edit, submit, approve, reject, schedule, publish, under RBAC."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ghostart.errors import Conflict, InvalidInput, NotFound
from ghostart.models import (
    LINKEDIN_MAX_CHARS,
    DomainEvent,
    EventName,
    Job,
    JobKind,
    Post,
    PostStatus,
    Principal,
    Role,
    allowed_transitions,
    as_uuid,
)
from ghostart.ports import UnitOfWork
from ghostart.rbac import Permission, authorize, can
from ghostart.services.context import ServiceContext

__all__ = ["ReviewService"]

log = logging.getLogger("ghostart.review")
_S = PostStatus
_EDITABLE = (_S.DRAFT, _S.IN_REVIEW, _S.REJECTED, _S.APPROVED, _S.SCHEDULED, _S.FAILED)
#: How far ahead a post may be scheduled.
MAX_SCHEDULE_AHEAD = timedelta(days=366)


def _check_body(body: str) -> str:
    if not isinstance(body, str):
        raise InvalidInput("body must be text", field="body")
    body = body.strip()
    if not body:
        raise InvalidInput("body must not be empty", field="body")
    if "\x00" in body:
        raise InvalidInput("body must not contain NUL characters (\\u0000)", field="body")
    if len(body) > LINKEDIN_MAX_CHARS:
        raise InvalidInput(
            f"body is {len(body)} characters; LinkedIn allows {LINKEDIN_MAX_CHARS}", field="body"
        )
    return body


class ReviewService:
    """Moves posts through their lifecycle. Every change is a compare-and-set on ``revision``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def list(
        self,
        principal: Principal,
        *,
        status: PostStatus | None = None,
        author_id: UUID | None = None,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[Post]:
        """Posts the principal may read, newest first: employees see their own only.

        ``before`` is the ``(created_at, id)`` of the last post of the previous page.
        """
        if not 1 <= limit <= 200:
            raise InvalidInput("limit must be 1..200", field="limit")
        if before is not None and (not isinstance(before[0], datetime) or before[0].tzinfo is None):
            raise InvalidInput("before must start with an aware datetime", field="before")
        if status is not None:
            try:
                status = PostStatus(status)
            except ValueError:
                allowed = ", ".join(s.value for s in PostStatus)
                raise InvalidInput(f"status must be one of {allowed}", field="status") from None
        if author_id is not None:
            author_id = as_uuid(author_id, "author_id")
        if not can(principal, Permission.POST_READ_ANY):
            if author_id not in (None, principal.user_id):
                authorize(principal, Permission.POST_READ_ANY)
            # A scoped API key may hold neither permission.
            authorize(principal, Permission.POST_READ_OWN, owner_id=principal.user_id)
            author_id = principal.user_id
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            return await uow.posts.list(
                principal.organization_id,
                author_id=author_id,
                status=status,
                limit=limit,
                before=None if before is None else (before[0], as_uuid(before[1], "before")),
            )

    async def edit(
        self,
        principal: Principal,
        post_id: UUID,
        body: str,
        *,
        expected_revision: int | None = None,
    ) -> Post:
        """Change the text. An author's edit of a reviewed post sends it back to draft."""
        body = _check_body(body)

        def change(post: Post, uow: UnitOfWork) -> dict[str, Any]:
            authorize(principal, Permission.POST_EDIT_OWN, owner_id=post.author_id)
            if post.status not in _EDITABLE:
                raise Conflict(f"a {post.status.value} post can not be edited")
            reviewer_edit = can(principal, Permission.POST_REVIEW) and post.status in (
                _S.IN_REVIEW,
                _S.APPROVED,
            )
            status = post.status if reviewer_edit else _S.DRAFT
            fields: dict[str, Any] = {"body": body, "status": status, "error": None}
            if status is _S.DRAFT:
                fields["scheduled_at"] = None
            return fields

        async def cancel_publishing(uow: UnitOfWork, post: Post) -> None:
            if post.status is _S.DRAFT:  # back to draft: nothing may publish the old text
                await uow.jobs.cancel_for_subject(post.id, now=self.ctx.clock.now())

        return await self._change(
            principal, post_id, change, expected_revision=expected_revision, after=cancel_publishing
        )

    async def submit(self, principal: Principal, post_id: UUID) -> Post:
        """Send a draft for review, or straight to approved when no approval is needed."""
        needs_approval = True

        async def decide(uow: UnitOfWork, post: Post) -> None:
            nonlocal needs_approval
            org = await uow.organizations.get(post.organization_id)
            author = await uow.memberships.get(post.organization_id, post.author_id)
            author_role = author.role if author else Role.EMPLOYEE
            needs_approval = author_role is Role.EMPLOYEE and (
                org is None or org.settings.employee_posts_need_approval
            )

        def change(post: Post, uow: UnitOfWork) -> dict[str, Any]:
            authorize(principal, Permission.POST_SUBMIT_OWN, owner_id=post.author_id)
            self._require(post, _S.DRAFT)
            if not post.body:
                raise Conflict("the post has no text yet")
            return {"status": _S.IN_REVIEW if needs_approval else _S.APPROVED}

        def submitted(post: Post) -> tuple[str, dict[str, str]]:
            in_review = post.status is _S.IN_REVIEW
            return (EventName.POST_SUBMITTED if in_review else EventName.POST_APPROVED), {}

        post = await self._change(principal, post_id, change, prepare=decide, event=submitted)
        return post

    async def approve(
        self, principal: Principal, post_id: UUID, *, note: str | None = None
    ) -> Post:
        """Approve a post in review."""
        authorize(principal, Permission.POST_REVIEW)

        def change(post: Post, uow: UnitOfWork) -> dict[str, Any]:
            self._require(post, _S.IN_REVIEW)
            return {"status": _S.APPROVED, "reviewed_by": principal.user_id, "review_note": note}

        post = await self._change(
            principal, post_id, change, event=lambda _: (EventName.POST_APPROVED, {})
        )
        return post

    async def reject(self, principal: Principal, post_id: UUID, *, note: str) -> Post:
        """Send a post in review back to its author with a note."""
        authorize(principal, Permission.POST_REVIEW)
        if not note or not note.strip() or len(note) > 1000:
            raise InvalidInput("a rejection needs a note of 1 to 1,000 characters", field="note")

        def change(post: Post, uow: UnitOfWork) -> dict[str, Any]:
            self._require(post, _S.IN_REVIEW)
            return {
                "status": _S.REJECTED,
                "reviewed_by": principal.user_id,
                "review_note": note.strip(),
            }

        post = await self._change(
            principal,
            post_id,
            change,
            event=lambda _: (EventName.POST_REJECTED, {"note": note.strip()}),
        )
        return post

    async def schedule(self, principal: Principal, post_id: UUID, at: datetime) -> Post:
        """Publish an approved post at ``at`` (timezone-aware)."""
        now = self.ctx.clock.now()
        if not isinstance(at, datetime):
            raise InvalidInput("the time must be a datetime with a time zone", field="at")
        if at.tzinfo is None:
            raise InvalidInput("the time must include a time zone", field="at")
        if at < now - timedelta(minutes=1):
            raise InvalidInput("the time is in the past", field="at")
        if at > now + MAX_SCHEDULE_AHEAD:
            raise InvalidInput("posts can be scheduled at most a year ahead", field="at")
        return await self._schedule(principal, post_id, max(at, now))

    async def publish_now(self, principal: Principal, post_id: UUID) -> Post:
        """Publish an approved post as soon as a worker takes it."""
        post = await self._schedule(principal, post_id, self.ctx.clock.now(), label="now")
        return post

    async def unschedule(self, principal: Principal, post_id: UUID) -> Post:
        """Take a scheduled post back to approved."""

        def change(post: Post, uow: UnitOfWork) -> dict[str, Any]:
            authorize(principal, Permission.POST_PUBLISH_OWN, owner_id=post.author_id)
            self._require(post, _S.SCHEDULED)
            return {"status": _S.APPROVED, "scheduled_at": None}

        async def cancel_publishing(uow: UnitOfWork, post: Post) -> None:
            await uow.jobs.cancel_for_subject(post.id, now=self.ctx.clock.now())

        return await self._change(principal, post_id, change, after=cancel_publishing)

    async def _schedule(
        self, principal: Principal, post_id: UUID, at: datetime, *, label: str | None = None
    ) -> Post:
        job: Job | None = None

        def change(post: Post, uow: UnitOfWork) -> dict[str, Any]:
            nonlocal job
            authorize(principal, Permission.POST_PUBLISH_OWN, owner_id=post.author_id)
            self._require(post, _S.APPROVED, _S.SCHEDULED)
            job = self.ctx.new_job(
                JobKind.PUBLISH,
                organization_id=post.organization_id,
                subject_id=post.id,
                idempotency_key=f"publish:{post.id}:{post.revision + 1}",
                run_at=at,
            )
            return {"status": _S.SCHEDULED, "scheduled_at": at}

        async def add_job(uow: UnitOfWork, post: Post) -> None:
            await uow.jobs.cancel_for_subject(post.id, now=self.ctx.clock.now())
            assert job is not None
            await uow.jobs.add(job)

        def scheduled(post: Post) -> tuple[str, dict[str, str]]:
            return EventName.POST_SCHEDULED, {"at": label or at.isoformat()}

        post = await self._change(principal, post_id, change, after=add_job, event=scheduled)
        if job is not None:
            await self.ctx.enqueue(job, delay=max(0.0, (at - self.ctx.clock.now()).total_seconds()))
        return post

    async def _change(
        self,
        principal: Principal,
        post_id: UUID,
        change: Any,
        *,
        expected_revision: int | None = None,
        prepare: Any = None,
        after: Any = None,
        event: Callable[[Post], tuple[str, dict[str, str]]] | None = None,
    ) -> Post:
        """Change a post in one transaction, with the event that reports it (if any)."""
        post_id = as_uuid(post_id, "post_id")
        recorded: DomainEvent | None = None
        async with self.ctx.store.unit_of_work(principal) as uow:
            post = await uow.posts.get(principal.organization_id, post_id)
            if post is None:
                raise NotFound(f"post {post_id} not found")
            if not can(principal, Permission.POST_READ_ANY) and post.author_id != principal.user_id:
                raise NotFound(f"post {post_id} not found")
            if expected_revision is not None and expected_revision != post.revision:
                raise Conflict(f"the post changed meanwhile (now revision {post.revision})")
            if prepare is not None:
                await prepare(uow, post)
            fields = change(post, uow)
            new_status = fields.get("status", post.status)
            if new_status != post.status and new_status not in allowed_transitions(post.status):
                raise Conflict(f"a {post.status.value} post can not become {new_status.value}")
            # Validated, not copied: a note or body from a caller meets the model's limits.
            updated = Post.parse(
                post.model_dump()
                | fields
                | {"revision": post.revision + 1, "updated_at": self.ctx.clock.now()}
            )
            if not await uow.posts.update(updated, expected_revision=post.revision):
                raise Conflict("the post changed meanwhile; reload and try again")
            if after is not None:
                await after(uow, updated)
            if event is not None:
                name, extra = event(updated)
                recorded = await self.ctx.record(uow, self._event(name, updated, principal, extra))
        if recorded is not None:
            await self.ctx.dispatch(recorded)
        return updated

    @staticmethod
    def _require(post: Post, *statuses: PostStatus) -> None:
        if post.status not in statuses:
            wanted = " or ".join(s.value for s in statuses)
            raise Conflict(f"the post is {post.status.value}; this needs it {wanted}")

    @staticmethod
    def _event(name: str, post: Post, principal: Principal, extra: dict[str, str]) -> DomainEvent:
        payload = {
            "post_id": str(post.id),
            "author_id": str(post.author_id),
            "by": str(principal.user_id),
        }
        return DomainEvent(name=name, organization_id=post.organization_id, payload=payload | extra)
