"""Job handlers: what the worker runs for each kind of job.

A job runs in two steps. :meth:`JobHandler.begin` runs inside the transaction that claims the
job, so claiming and marking the work started (a generation ``running``, a post ``publishing``)
commit together or not at all. :meth:`JobHandler.handle` then calls the provider and writes its
result and ends the job lease in one transaction, so the effect on the store happens exactly once
even when a job id is delivered twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from ghostart.errors import (
    ContentRejected,
    DuplicateContent,
    GhostartError,
    PermanentError,
    RateLimited,
)
from ghostart.models import (
    BrandVoice,
    DomainEvent,
    EventName,
    Generation,
    GenerationStatus,
    Job,
    JobKind,
    JobStatus,
    Post,
    PostStatus,
)
from ghostart.observability.analytics import generation_events, publish_event
from ghostart.observability.metrics import record_model_usage
from ghostart.ports import Publication, PublishRequest, UnitOfWork
from ghostart.services.billing import usage_report_job
from ghostart.services.context import ServiceContext
from ghostart.services.generation import cache_key, cache_payload

__all__ = ["GenerateHandler", "JobHandler", "LeaseLost", "PublishHandler", "default_handlers"]

log = logging.getLogger("ghostart.jobs")


class LeaseLost(GhostartError):
    """Another worker took the job over (our lease expired); our result is discarded."""

    code = "lease_lost"


class JobHandler(Protocol):
    """Runs one kind of job."""

    async def begin(self, uow: UnitOfWork, job: Job, owner: str) -> Any:
        """In the claiming transaction: check the subject and mark it started (store work only).

        Returns what :meth:`handle` needs, or ``None`` when there is nothing to do; the handler
        has then finished the job in ``uow``. An error rolls the claim back; the worker then
        claims the job alone and treats the error as a failure of the job.
        """
        ...

    async def handle(self, job: Job, owner: str, begun: Any) -> None:
        """Do the work and finish the job (``done``) in the same transaction as its result."""
        ...

    async def on_failed(self, uow: UnitOfWork, job: Job, error: str) -> list[DomainEvent]:
        """Mark the job's subject failed (in the worker's transaction); return events to emit.

        The worker wakes the waiters of ``job.subject_id`` once the transaction is committed.
        """
        ...


async def _finish(uow: UnitOfWork, job: Job, owner: str, ctx: ServiceContext) -> None:
    if not await uow.jobs.finish(job.id, owner=owner, status=JobStatus.DONE, now=ctx.clock.now()):
        raise LeaseLost(f"job {job.id} is no longer ours")


@dataclass(frozen=True, slots=True)
class _Generating:
    generation: Generation
    voice: BrandVoice | None


@dataclass(frozen=True, slots=True)
class _Publishing:
    post: Post
    ambiguous: bool  # "publishing" already: an earlier attempt may have reached the network


class GenerateHandler:
    """Generates one draft and hands it to every post that joined the generation."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def begin(self, uow: UnitOfWork, job: Job, owner: str) -> _Generating | None:
        """Mark the generation running and its posts generating."""
        generation = await uow.generations.start(job.subject_id)
        if generation is None:  # already finished (a second delivery) or gone
            await _finish(uow, job, owner, self.ctx)
            return None
        voice = await uow.brand_voices.get(generation.organization_id, generation.brand_voice_id)
        await uow.posts.move_for_generation(
            generation.id,
            from_statuses=(PostStatus.REQUESTED,),
            changes={"status": PostStatus.GENERATING},
            now=self.ctx.clock.now(),
            return_posts=False,
        )
        return _Generating(generation, voice)

    async def handle(self, job: Job, owner: str, begun: _Generating) -> None:
        """Generate, store, cache, notify (the store first: it is the truth, the cache a hint)."""
        ctx = self.ctx
        generation, voice = begun.generation, begun.voice
        if voice is None:
            raise PermanentError("the brand voice was deleted before the draft was written")

        started = ctx.clock.now()
        try:
            draft = await ctx.retry.call(
                lambda: ctx.generator.generate(voice, generation.request),
                operation="generator.generate",
            )
        except ContentRejected as exc:
            await self._reject(job, owner, generation, exc)
            return
        ctx.monitor.observe(
            "ghostart.generation.seconds",
            (ctx.clock.now() - started).total_seconds(),
            model=draft.model,
        )
        now = ctx.clock.now()
        done = generation.model_copy(
            update={
                "status": GenerationStatus.SUCCEEDED,
                "body": draft.body,
                "ai_generated": draft.ai_generated,
                "notice": draft.notice,
                "usage": draft.usage,
                "finished_at": now,
                "model": draft.model,
            }
        )
        # A metered plan's report is an outbox row of the same transaction as the usage.
        report = await usage_report_job(ctx, done.organization_id, done.id, now)
        async with ctx.store.unit_of_work() as uow:
            await _finish(uow, job, owner, ctx)
            await uow.generations.save(done)
            await uow.usage.record(done.organization_id, done.id, draft.usage, at=now)
            if report is not None:
                await uow.jobs.add(report)
            posts = await self._move_posts(
                uow,
                done.id,
                (PostStatus.REQUESTED, PostStatus.GENERATING),
                {
                    "status": PostStatus.DRAFT,
                    "body": draft.body,
                    "ai_generated": draft.ai_generated,
                    "notice": draft.notice,
                },
            )
            # Usage analytics in the same transaction: counted exactly when the draft is stored.
            await uow.analytics.add_many(generation_events(draft.model, posts, now))
            generated = await ctx.record(
                uow,
                _generation_event(
                    EventName.CONTENT_GENERATED,
                    done,
                    posts,
                    author_ids=sorted({str(p.author_id) for p in posts}),
                    model=draft.model,
                    ai_generated=draft.ai_generated,
                ),
            )
        try:
            payload = json.dumps(cache_payload(done)).encode()
            await ctx.cache.set(
                cache_key(done.fingerprint), payload, ttl=ctx.settings.cache_ttl_seconds
            )
        except Exception as exc:  # the draft is stored; a cache failure costs only a later hit
            ctx.monitor.capture_exception(exc, operation="cache.set")
        ctx.notifier.notify(done.id, posts)
        ctx.monitor.incr("ghostart.generation.done", model=draft.model)
        record_model_usage(ctx.monitor, draft.model, draft.usage)
        if report is not None:
            await ctx.enqueue(report)
        await ctx.dispatch(generated)

    async def _reject(
        self, job: Job, owner: str, generation: Generation, exc: ContentRejected
    ) -> None:
        """The content was refused: the posts end ``rejected`` with the reason, and no text.

        Unlike :meth:`on_failed`, the posts never become ``failed`` (which a member may retry):
        the reason stays on them until the author writes their own text. What the attempt cost
        stays on the failed generation's row; the usage ledger (what the usage summary sums)
        holds succeeded generations only.
        """
        ctx = self.ctx
        now = ctx.clock.now()
        reason = exc.message[:1000].replace("\x00", "\ufffd")
        usage = exc.usage or generation.usage
        async with ctx.store.unit_of_work() as uow:
            finished = await uow.jobs.finish(
                job.id,
                owner=owner,
                status=JobStatus.FAILED,
                now=now,
                error=f"{type(exc).__name__}: {reason}",
            )
            if not finished:
                raise LeaseLost(f"job {job.id} is no longer ours")
            await uow.generations.save(
                generation.model_copy(
                    update={
                        "status": GenerationStatus.FAILED,
                        "error": reason,
                        "usage": usage,
                        "finished_at": now,
                    }
                )
            )
            posts = await self._move_posts(
                uow,
                generation.id,
                (PostStatus.REQUESTED, PostStatus.GENERATING),
                {"status": PostStatus.REJECTED, "error": reason, "review_note": reason},
            )
            failed = await ctx.record(
                uow,
                _generation_event(
                    EventName.CONTENT_FAILED,
                    generation,
                    posts,
                    error=reason,
                    rejected=True,
                    categories=list(exc.categories),
                ),
            )
        ctx.notifier.notify(generation.id, posts)
        ctx.monitor.incr("ghostart.generation.rejected")
        log.info("generation %s rejected: %s", generation.id, reason)
        await ctx.dispatch(failed)

    async def on_failed(self, uow: UnitOfWork, job: Job, error: str) -> list[DomainEvent]:
        """Fail the generation and every post waiting on it."""
        generation = await uow.generations.get(job.subject_id)
        if generation is None:
            return []
        await uow.generations.save(
            generation.model_copy(
                update={
                    "status": GenerationStatus.FAILED,
                    "error": error,
                    "finished_at": self.ctx.clock.now(),
                }
            )
        )
        posts = await self._move_posts(
            uow,
            generation.id,
            (PostStatus.REQUESTED, PostStatus.GENERATING),
            {"status": PostStatus.FAILED, "error": error},
        )
        # The worker records the event in this transaction, and notifies waiters after it.
        return [_generation_event(EventName.CONTENT_FAILED, generation, posts, error=error)]

    async def _move_posts(
        self,
        uow: UnitOfWork,
        generation_id: UUID,
        from_: tuple[PostStatus, ...],
        fields: dict[str, object],
    ) -> list[Post]:
        return await uow.posts.move_for_generation(
            generation_id, from_statuses=from_, changes=fields, now=self.ctx.clock.now()
        )


class PublishHandler:
    """Publishes one post, never twice: "publishing" is recorded before the call."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def begin(self, uow: UnitOfWork, job: Job, owner: str) -> _Publishing | None:
        """Mark the post publishing, unless it was unscheduled, edited or moved meanwhile."""
        ctx = self.ctx
        if job.organization_id is None:
            raise PermanentError("publish job without organization")
        post = await uow.posts.get(job.organization_id, job.subject_id)
        rescheduled = (
            post is not None
            and post.status is PostStatus.SCHEDULED
            and post.scheduled_at is not None
            and post.scheduled_at > ctx.clock.now() + timedelta(seconds=1)
        )
        if (
            post is None
            or post.status not in (PostStatus.SCHEDULED, PostStatus.PUBLISHING)
            or not post.body
            or rescheduled  # moved later after this job was queued: the new job publishes
        ):
            await _finish(uow, job, owner, ctx)
            return None
        ambiguous = post.status is PostStatus.PUBLISHING
        if not ambiguous:
            post = await self._update(uow, post, {"status": PostStatus.PUBLISHING})
        return _Publishing(post, ambiguous)

    async def handle(self, job: Job, owner: str, begun: _Publishing) -> None:
        """Publish (or find the earlier publication), then mark the post published."""
        ctx = self.ctx
        post, ambiguous = begun.post, begun.ambiguous
        org_id = post.organization_id
        assert post.body is not None  # begin() checked
        request = PublishRequest(
            post_id=post.id,
            organization_id=org_id,
            author_id=post.author_id,
            body=post.body,
            idempotency_key=f"post:{post.id}",
            # Recorded with the move to "publishing" (that revision, at that time): the attempt.
            attempt_id=f"post:{post.id}:r{post.revision}",
            attempt_started_at=post.updated_at,
        )
        publication: Publication | None = None
        try:
            if ambiguous:  # an earlier attempt may have reached the network
                publication = await ctx.retry.call(
                    lambda: ctx.publisher.find(request), operation="publisher.find"
                )
            if publication is None:
                try:
                    # No in-process retry: after a timeout the post may be out, so the next
                    # attempt (the job's retry) must ask `find` first: "publishing" records it.
                    publication = await ctx.publisher.publish(request)
                except DuplicateContent as exc:
                    publication = await self._duplicate(request, exc)
        except RateLimited as exc:
            await self._defer(job, owner, post, exc, may_have_landed=ambiguous)
            return
        async with ctx.store.unit_of_work() as uow:
            await _finish(uow, job, owner, ctx)
            current = await uow.posts.get(org_id, post.id)
            if current is None:
                return
            post = await self._update(
                uow,
                current,
                {
                    "status": PostStatus.PUBLISHED,
                    "external_id": publication.external_id,
                    "external_url": publication.url,
                    "published_at": publication.published_at,
                    "error": None,
                },
            )
            await uow.analytics.add_many([publish_event(post, ctx.clock.now())])
            published = await ctx.record(
                uow,
                DomainEvent(
                    name=EventName.POST_PUBLISHED,
                    organization_id=org_id,
                    payload={
                        "post_id": str(post.id),
                        "author_id": str(post.author_id),
                        "external_id": publication.external_id,
                    },
                ),
            )
        ctx.monitor.incr("ghostart.publish.done")
        await ctx.dispatch(published)

    async def _duplicate(self, request: PublishRequest, exc: DuplicateContent) -> Publication:
        """The network already has this post (an earlier attempt made it): where it is."""
        try:
            found = await self.ctx.publisher.find(request)
        except RateLimited:  # the duplicate's own id is enough
            found = None
        url = exc.details.get("url")
        return found or Publication(
            external_id=exc.existing_id or "unknown",
            url=url if isinstance(url, str) else None,
            published_at=self.ctx.clock.now(),
        )

    async def _defer(
        self, job: Job, owner: str, post: Post, exc: RateLimited, *, may_have_landed: bool
    ) -> None:
        """The provider's limit is reached: publish when it resets, without spending attempts.

        This job ends, and a new one (attempts afresh) is written in the same transaction, due
        when the limit resets (LinkedIn's: midnight UTC). A post that nothing reached the
        network for goes back to ``scheduled`` at that time (its member may still change it);
        one an earlier attempt may have published stays ``publishing``, so that the next
        attempt asks ``find`` first.
        """
        ctx = self.ctx
        now = ctx.clock.now()
        wait = max(1.0, float(exc.retry_after or ctx.settings.reconcile_interval_seconds))
        at = now + timedelta(seconds=wait)
        note = (
            "the network's daily limit is reached; the post goes out when it resets, "
            f"at {at.strftime('%Y-%m-%d %H:%M')} UTC"
        )
        retry = ctx.new_job(
            JobKind.PUBLISH,
            organization_id=post.organization_id,
            subject_id=post.id,
            idempotency_key=f"publish:{post.id}:deferred:{job.id}",
            run_at=at,
        )
        async with ctx.store.unit_of_work() as uow:
            await _finish(uow, job, owner, ctx)
            current = await uow.posts.get(post.organization_id, post.id)
            if current is None or current.status is not PostStatus.PUBLISHING:
                return
            if not may_have_landed:
                await self._update(
                    uow,
                    current,
                    {"status": PostStatus.SCHEDULED, "scheduled_at": at, "error": note},
                )
            await uow.jobs.add(retry)
        ctx.monitor.incr("ghostart.publish.deferred", error=type(exc).__name__)
        log.info("post %s deferred %.0f s by a rate limit: %s", post.id, wait, exc)
        try:
            await ctx.queue.enqueue(retry.id, delay=wait)
        except Exception as enqueue_exc:  # the row is the truth: the reconciler enqueues it
            ctx.monitor.capture_exception(enqueue_exc, job_id=str(retry.id))

    async def on_failed(self, uow: UnitOfWork, job: Job, error: str) -> list[DomainEvent]:
        """Mark the post failed."""
        if job.organization_id is None:
            return []
        post = await uow.posts.get(job.organization_id, job.subject_id)
        if post is None or post.status not in (PostStatus.SCHEDULED, PostStatus.PUBLISHING):
            return []
        post = await self._update(uow, post, {"status": PostStatus.FAILED, "error": error})
        return [
            DomainEvent(
                name=EventName.POST_FAILED,
                organization_id=post.organization_id,
                payload={"post_id": str(post.id), "author_id": str(post.author_id), "error": error},
            )
        ]

    async def _update(self, uow: UnitOfWork, post: Post, fields: dict[str, object]) -> Post:
        updated = post.model_copy(
            update=fields | {"revision": post.revision + 1, "updated_at": self.ctx.clock.now()}
        )
        if not await uow.posts.update(updated, expected_revision=post.revision):
            raise LeaseLost(f"post {post.id} changed while publishing")
        return updated


def default_handlers(ctx: ServiceContext) -> dict[JobKind, JobHandler]:
    """The handlers ghostart core provides."""
    return {JobKind.GENERATE: GenerateHandler(ctx), JobKind.PUBLISH: PublishHandler(ctx)}


def _generation_event(
    name: str, generation: Generation, posts: list[Post], **facts: object
) -> DomainEvent:
    """A ``content.*`` event: the generation, its posts and ``facts``."""
    return DomainEvent(
        name=name,
        organization_id=generation.organization_id,
        payload={
            "generation_id": str(generation.id),
            "post_ids": [str(p.id) for p in posts],
            **facts,
        },
    )
