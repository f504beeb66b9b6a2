"""The generation flow: cache, then a durable request, the queue, the generator, the store, the cache.

1. Check the cache (keyed by organization, brand voice version, generator model and normalised
   request). A hit becomes a draft at once.
2. On a miss, in one transaction: join a live generation of the same fingerprint (single flight)
   or create one (after the quota check) together with its job row (the outbox) and the post.
3. After commit, put the job id on the queue. If that is lost, the reconciler re-queues it.
4. The worker generates, stores the draft on every joined post, caches it, emits
   ``content.generated``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from ghostart.errors import InvalidInput, NotFound, QuotaExceeded, TooManyRequests
from ghostart.models import (
    BrandVoice,
    ContentRequest,
    Generation,
    GenerationStatus,
    Job,
    JobKind,
    Post,
    PostStatus,
    Principal,
    as_uuid,
)
from ghostart.ports import UnitOfWork
from ghostart.rbac import Permission, authorize, can
from ghostart.services.billing import plan_and_period, upgrade_hint
from ghostart.services.context import ServiceContext

__all__ = [
    "GenerationService",
    "QuotaStatus",
    "brand_voice_for",
    "cache_key",
    "cache_payload",
    "fingerprint",
]

_WAITING = (PostStatus.REQUESTED, PostStatus.GENERATING)


def fingerprint(
    organization_id: UUID, voice: BrandVoice, model: str, request: ContentRequest
) -> str:
    """What makes two requests the same generation."""
    material = json.dumps(
        {
            "org": str(organization_id),
            "voice": str(voice.id),
            "voice_version": voice.version,
            "model": model,
            "request": request.normalised(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


async def brand_voice_for(uow: UnitOfWork, org_id: UUID, voice_id: UUID | None) -> BrandVoice:
    """The voice ``voice_id``, or the organization's first one when ``None``."""
    # A voice found proves the organization exists; only a miss needs the second look.
    voice: BrandVoice | None = None
    if voice_id is not None:
        voice = await uow.brand_voices.get(org_id, voice_id)
    else:
        voices = await uow.brand_voices.list(org_id, limit=1)
        voice = voices[0] if voices else None
    if voice is not None:
        return voice
    if await uow.organizations.get(org_id) is None:
        raise NotFound(f"organization {org_id} not found")
    if voice_id is not None:
        raise NotFound(f"brand voice {voice_id} not found")
    raise InvalidInput(
        "the organization has no brand voice yet; create one first", field="brand_voice_id"
    )


def cache_key(fp: str) -> str:
    """The cache key of a fingerprint."""
    return f"ghostart:draft:v1:{fp}"


class QuotaStatus(dict[str, Any]):
    """This month's generations against the plan (a plain dict for easy serialisation)."""


class GenerationService:
    """Requests drafts and waits for them."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def request(self, principal: Principal, request: ContentRequest | dict[str, Any]) -> Post:
        """Ask for a draft; returns the post (``draft`` at once on a cache hit, else ``requested``)."""
        req = ContentRequest.parse(request)
        authorize(principal, Permission.POST_CREATE)
        if req.author is not None or req.campaign_id is not None:
            raise InvalidInput(
                "author and campaign_id are filled in by campaigns, from each member's profile; "
                "leave them out",
                field="author" if req.author is not None else "campaign_id",
            )
        await self._rate_limit(principal)
        org_id = principal.organization_id
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            voice = await self._voice(uow, org_id, req.brand_voice_id)
        fp = fingerprint(org_id, voice, self.ctx.generator.model, req)

        cached = await self._cache_get(fp)
        if cached is not None:
            post = self._new_post(principal, voice, req, from_cache=True, draft=cached)
            async with self.ctx.store.unit_of_work(principal) as uow:
                await uow.posts.add(post)
            self.ctx.monitor.incr("ghostart.generation.cache", result="hit")
            return post
        self.ctx.monitor.incr("ghostart.generation.cache", result="miss")

        plan, period = await plan_and_period(self.ctx, org_id)
        now = self.ctx.clock.now()
        job: Job | None = None
        async with self.ctx.store.unit_of_work(principal) as uow:
            recent = await uow.generations.find_recent(
                org_id, fp, since=now - timedelta(seconds=self.ctx.settings.cache_ttl_seconds)
            )
            if recent is not None and recent.body:
                # Finished between our cache miss and now: the store is the second-level cache.
                post = self._new_post(
                    principal, voice, req, from_cache=True, draft=cache_payload(recent)
                )
                await uow.posts.add(post)
                return post
            candidate = Generation(
                organization_id=org_id,
                fingerprint=fp,
                brand_voice_id=voice.id,
                brand_voice_version=voice.version,
                request=req,
                model=self.ctx.generator.model,
                created_at=now,
            )
            generation, created = await uow.generations.add_or_join(candidate)
            if created and plan.monthly_generations is not None:
                await uow.organizations.lock(org_id)  # serialise quota checks of one organization
                used = await uow.generations.count_since(org_id, period)
                if used > plan.monthly_generations:  # the unit of work rolls back: no job
                    raise QuotaExceeded(
                        f"plan '{plan.name}' allows {plan.monthly_generations} generations a month; "
                        f"all are used. To raise the limit, "
                        f"{upgrade_hint(self.ctx, org_id, 'GHOSTART_DEFAULT_MONTHLY_GENERATIONS')}",
                        plan=plan.name,
                        limit=plan.monthly_generations,
                        used=used - 1,
                        period_start=period.isoformat(),
                    )
            if created:
                job = self.ctx.new_job(
                    JobKind.GENERATE,
                    organization_id=org_id,
                    subject_id=generation.id,
                    idempotency_key=f"generate:{generation.id}",
                )
                await uow.jobs.add(job)
            status = (
                PostStatus.GENERATING
                if generation.status is GenerationStatus.RUNNING
                else PostStatus.REQUESTED
            )
            post = self._new_post(principal, voice, req, generation_id=generation.id, status=status)
            await uow.posts.add(post)
        self.ctx.monitor.incr("ghostart.generation.requests", joined=str(not created).lower())
        if job is not None:
            await self.ctx.enqueue(job)
        return post

    async def get(self, principal: Principal, post_id: UUID) -> Post:
        """A post the principal may read."""
        post_id = as_uuid(post_id, "post_id")
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            post = await uow.posts.get(principal.organization_id, post_id)
        if post is None or not can(principal, Permission.POST_READ_OWN, owner_id=post.author_id):
            raise NotFound(f"post {post_id} not found")
        return post

    async def wait(
        self,
        principal: Principal,
        post: Post | UUID,
        *,
        timeout: float = 120.0,
        poll_interval: float | None = None,
        on_status: Callable[[Post], None] | None = None,
    ) -> Post:
        """Wait until the post has left ``requested``/``generating``, or ``timeout`` passes.

        Pass the :class:`Post` that :meth:`request` returned to save a first read. The notifier
        wakes the wait when the job finishes, here or in another process; the store is read
        every ``poll_interval`` seconds (``GHOSTART_WAIT_POLL_SECONDS``) in case no signal comes.
        """
        if poll_interval is None:
            poll_interval = self.ctx.settings.wait_poll_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: PostStatus | None = None
        current = post if isinstance(post, Post) else await self.get(principal, post)
        while True:
            if current.status != last:
                last = current.status
                if on_status is not None:
                    on_status(current)
            remaining = deadline - loop.time()
            if current.status not in _WAITING or remaining <= 0:
                return current
            # Woken at once by a worker here or (through the broadcast) elsewhere; else by polling.
            subject = current.generation_id or current.id
            with self.ctx.notifier.waiting(subject) as event, contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(poll_interval, remaining)):
                    await event.wait()
            # The worker hands over the post as it committed it; otherwise read it.
            current = event.posts.get(current.id) or await self.get(principal, current.id)

    async def quota(self, principal: Principal) -> QuotaStatus:
        """Generations used this month against the plan."""
        authorize(principal, Permission.ORG_READ)
        plan, period = await plan_and_period(self.ctx, principal.organization_id)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            used = await uow.generations.count_since(principal.organization_id, period)
            usage = await uow.usage.totals(principal.organization_id, since=period)
        result = QuotaStatus(plan=plan.name, limit=plan.monthly_generations, used=used)
        if can(principal, Permission.USAGE_READ):
            result.update(usage.model_dump(mode="json"))
        return result

    async def _rate_limit(self, principal: Principal) -> None:
        limit = self.ctx.settings.generation_rate_limit
        decision = await self.ctx.rate_limiter.hit(
            f"generate:{principal.organization_id}:{principal.user_id}", limit=limit, period=60.0
        )
        if not decision.allowed:
            raise TooManyRequests(
                f"at most {limit} generation requests a minute; try again in "
                f"{decision.retry_after:.0f} s",
                retry_after=decision.retry_after,
            )

    @staticmethod
    async def _voice(uow: UnitOfWork, org_id: UUID, voice_id: UUID | None) -> BrandVoice:
        return await brand_voice_for(uow, org_id, voice_id)

    async def _cache_get(self, fp: str) -> dict[str, Any] | None:
        try:
            raw = await self.ctx.cache.get(cache_key(fp))
            return json.loads(raw) if raw else None
        except Exception as exc:  # the cache is a hint: a broken cache means a miss
            self.ctx.monitor.capture_exception(exc, operation="cache.get")
            return None

    def _new_post(
        self,
        principal: Principal,
        voice: BrandVoice,
        req: ContentRequest,
        *,
        from_cache: bool = False,
        draft: dict[str, Any] | None = None,
        generation_id: UUID | None = None,
        status: PostStatus = PostStatus.REQUESTED,
    ) -> Post:
        now = self.ctx.clock.now()
        fields: dict[str, Any] = {}
        if draft is not None:
            status = PostStatus.DRAFT
            generation_id = UUID(draft["generation_id"]) if draft.get("generation_id") else None
            fields = {
                "body": draft["body"],
                "ai_generated": draft.get("ai_generated"),
                "notice": draft.get("notice"),
            }
        return Post(
            organization_id=principal.organization_id,
            author_id=principal.user_id,
            brand_voice_id=voice.id,
            generation_id=generation_id,
            request=req,
            status=status,
            from_cache=from_cache,
            created_at=now,
            updated_at=now,
            **fields,
        )


def cache_payload(generation: Generation) -> dict[str, Any]:
    """What the cache keeps of a finished generation."""
    return {
        "generation_id": str(generation.id),
        "body": generation.body,
        "model": generation.model,
        "ai_generated": generation.ai_generated,
        "notice": generation.notice,
    }
