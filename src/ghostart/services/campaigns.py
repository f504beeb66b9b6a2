"""Advocacy campaigns: one brief, and every participant's own variant of it as an ordinary post.

Starting a campaign is one transaction: the campaign row and, per participant, a generation (its
fingerprint includes the participant's :class:`~ghostart.models.AuthorContext`, so no two
participants ever share a generation or a cached draft), its job row (the outbox) and the
participant's post naming the campaign. After the commit every job id goes on the queue; an
enqueue that fails is the reconciler's to redo. From there each variant is on its own: the
normal generation job drafts it, one failed generation fails its own post only, and review and
publishing are the posts' usual paths. :meth:`CampaignService.get` shows who has published.

Who takes part: the creator names the participants (members of the organization, any role), or
names none for every member. Members who turned campaigns off in their profile
(``User.joins_campaigns``) are skipped either way, and reported as skipped.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ghostart.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from ghostart.models import (
    AuthorContext,
    BrandVoice,
    Campaign,
    CampaignBrief,
    CampaignVariant,
    ContentRequest,
    DomainEvent,
    EventName,
    Generation,
    GenerationStatus,
    Job,
    JobKind,
    Plan,
    Post,
    PostStatus,
    Principal,
    SkippedParticipant,
    SkipReason,
    User,
    as_uuid,
)
from ghostart.ports import UnitOfWork
from ghostart.rbac import Permission, authorize, can
from ghostart.services.billing import plan_and_period, upgrade_hint
from ghostart.services.context import ServiceContext
from ghostart.services.generation import brand_voice_for, fingerprint

__all__ = [
    "MAX_PARTICIPANTS",
    "CampaignLaunch",
    "CampaignReport",
    "CampaignService",
    "CampaignSummary",
]


#: The most participants one campaign may have.
MAX_PARTICIPANTS = 500
#: How many of a participant's latest published posts their variant's prompt shows.
PAST_POSTS = 3
_PAST_POST_CHARS = 600


@dataclass(frozen=True, slots=True)
class CampaignLaunch:
    """A campaign just started: its variants (posts, being drafted) and who was left out."""

    campaign: Campaign
    posts: list[Post]
    skipped: list[SkippedParticipant]

    @property
    def variants(self) -> list[CampaignVariant]:
        """The new variants, by participant."""
        return [_variant_of(p) for p in self.posts]


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign and how many of its (visible) variants are in each status."""

    campaign: Campaign
    counts: dict[PostStatus, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """A campaign with its visible variants: who has a draft, who has published."""

    campaign: Campaign
    variants: list[CampaignVariant]

    @property
    def counts(self) -> dict[PostStatus, int]:
        """Variants per status."""
        return dict(Counter(v.status for v in self.variants))

    @property
    def published(self) -> list[UUID]:
        """The participants who have published their variant."""
        return [v.user_id for v in self.variants if v.status is PostStatus.PUBLISHED]


def _participants(ids: Iterable[object] | None) -> list[UUID] | None:
    if ids is None:
        return None
    if isinstance(ids, str | bytes):
        raise InvalidInput("participants must be a list of user ids", field="participants")
    chosen = list(dict.fromkeys(as_uuid(i, "participants") for i in ids))
    if not chosen:
        raise InvalidInput(
            "name at least one participant, or leave participants out for every member",
            field="participants",
        )
    if len(chosen) > MAX_PARTICIPANTS:
        raise InvalidInput(
            f"a campaign has at most {MAX_PARTICIPANTS} participants", field="participants"
        )
    return chosen


def _cut(text: str, limit: int = _PAST_POST_CHARS) -> str:
    """``text`` shortened to ``limit`` characters at a word boundary."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip() + "…"


def _variant_of(post: Post) -> CampaignVariant:
    author = post.request.author if post.request else None
    return CampaignVariant(
        user_id=post.author_id,
        post_id=post.id,
        variant=author.variant if author else 0,
        status=post.status,
        published_at=post.published_at,
        external_url=post.external_url,
        error=post.error,
    )


class CampaignService:
    """Starts campaigns, shows their progress, and re-drafts the variants that failed."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(
        self,
        principal: Principal,
        brief: CampaignBrief | dict[str, Any],
        *,
        participants: Sequence[object] | None = None,
    ) -> CampaignLaunch:
        """Start a campaign: every participant gets their own variant to draft (brand creators)."""
        brief = CampaignBrief.parse(brief)
        authorize(principal, Permission.CAMPAIGN_MANAGE)
        chosen = _participants(participants)
        org_id = principal.organization_id
        plan, period = await plan_and_period(self.ctx, org_id)
        now = self.ctx.clock.now()
        jobs: builtins.list[Job] = []
        posts: builtins.list[Post] = []
        async with self.ctx.store.unit_of_work(principal) as uow:
            voice = await brand_voice_for(uow, org_id, brief.brand_voice_id)
            authors, skipped = await self._authors(uow, org_id, chosen)
            await self._check_campaigns(uow, org_id, plan, period)
            await self._check_quota(uow, org_id, plan, len(authors), period)
            campaign = Campaign(
                **brief.model_dump(exclude={"brand_voice_id"}),
                brand_voice_id=voice.id,
                organization_id=org_id,
                created_by=principal.user_id,
                created_at=now,
            )
            await uow.campaigns.add(campaign)
            for number, user in enumerate(authors):
                author = await self._author_context(uow, org_id, user, number)
                request = campaign.request_for(author, campaign_id=campaign.id)
                post, job = await self._draft(uow, campaign, voice, request, user.id, now)
                posts.append(post)
                if job is not None:
                    jobs.append(job)
            created = await self.ctx.record(
                uow,
                DomainEvent(
                    name=EventName.CAMPAIGN_CREATED,
                    organization_id=org_id,
                    payload={
                        "campaign_id": str(campaign.id),
                        "by": str(principal.user_id),
                        "post_ids": [str(p.id) for p in posts],
                        "skipped": [str(s.user_id) for s in skipped],
                    },
                ),
            )
        await self.ctx.enqueue(*jobs)
        self.ctx.monitor.incr("ghostart.campaigns.created")
        await self.ctx.dispatch(created)
        return CampaignLaunch(campaign, posts, skipped)

    async def list(
        self,
        principal: Principal,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> builtins.list[CampaignSummary]:
        """The organization's campaigns, newest first, with their variants' progress.

        Members who may not read every post (employees) see the progress of their own variants.
        """
        authorize(principal, Permission.CAMPAIGN_READ)
        if not 1 <= limit <= 201:
            raise InvalidInput("limit must be 1..200", field="limit")
        if before is not None and (not isinstance(before[0], datetime) or before[0].tzinfo is None):
            raise InvalidInput("before must start with an aware datetime", field="before")
        org_id = principal.organization_id
        visible, author_id = self._visibility(principal)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            campaigns = await uow.campaigns.list(org_id, limit=limit, before=before)
            counts = (
                await uow.campaigns.progress(org_id, [c.id for c in campaigns], author_id=author_id)
                if visible
                else {}
            )
        return [CampaignSummary(c, counts.get(c.id, {})) for c in campaigns]

    async def get(self, principal: Principal, campaign_id: UUID) -> CampaignReport:
        """A campaign and its variants (employees: their own), by participant."""
        authorize(principal, Permission.CAMPAIGN_READ)
        campaign_id = as_uuid(campaign_id, "campaign_id")
        org_id = principal.organization_id
        visible, author_id = self._visibility(principal)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            campaign = await uow.campaigns.get(org_id, campaign_id)
            if campaign is None:
                raise NotFound(f"campaign {campaign_id} not found")
            posts = (
                await uow.campaigns.variants(org_id, campaign_id, author_id=author_id)
                if visible
                else []
            )
        variants = sorted((_variant_of(p) for p in posts), key=lambda v: v.variant)
        return CampaignReport(campaign, variants)

    async def retry(self, principal: Principal, campaign_id: UUID) -> CampaignReport:
        """Draft again every variant whose generation failed (brand creators).

        Only generation failures are retried (a ``failed`` post without text); a post that
        failed to publish has its text and goes back through its own publishing path, and a
        rejected one was refused by the provider.
        """
        authorize(principal, Permission.CAMPAIGN_MANAGE)
        campaign_id = as_uuid(campaign_id, "campaign_id")
        org_id = principal.organization_id
        plan, period = await plan_and_period(self.ctx, org_id)
        now = self.ctx.clock.now()
        jobs: builtins.list[Job] = []
        async with self.ctx.store.unit_of_work(principal) as uow:
            campaign = await uow.campaigns.get(org_id, campaign_id)
            if campaign is None:
                raise NotFound(f"campaign {campaign_id} not found")
            failed = [
                p
                for p in await uow.campaigns.variants(org_id, campaign_id)
                if p.status is PostStatus.FAILED and not p.body and p.request is not None
            ]
            if failed:
                voice = await self._campaign_voice(uow, campaign)
                await self._check_quota(uow, org_id, plan, len(failed), period)
                for post in failed:
                    job = await self._redraft(uow, post, voice, now)
                    if job is not None:
                        jobs.append(job)
        await self.ctx.enqueue(*jobs)
        return await self.get(principal, campaign_id)

    @staticmethod
    async def _campaign_voice(uow: UnitOfWork, campaign: Campaign) -> BrandVoice:
        voice_id = campaign.brand_voice_id
        voice = await uow.brand_voices.get(campaign.organization_id, voice_id) if voice_id else None
        if voice is None:
            raise Conflict("the campaign's brand voice was deleted; start a new campaign")
        return voice

    @staticmethod
    def _visibility(principal: Principal) -> tuple[bool, UUID | None]:
        """Whether the principal sees variants at all, and whose (``None``: everyone's)."""
        if can(principal, Permission.POST_READ_ANY):
            return True, None
        own = can(principal, Permission.POST_READ_OWN, owner_id=principal.user_id)
        return own, principal.user_id

    async def _authors(
        self, uow: UnitOfWork, org_id: UUID, chosen: builtins.list[UUID] | None
    ) -> tuple[builtins.list[User], builtins.list[SkippedParticipant]]:
        """The participants who take part, in order, and those who opted out."""
        members = [m.user_id for m in await uow.memberships.list(org_id)]
        if chosen is None:
            if len(members) > MAX_PARTICIPANTS:
                raise InvalidInput(
                    f"the organization has {len(members)} members; name at most "
                    f"{MAX_PARTICIPANTS} participants",
                    field="participants",
                )
            chosen = members
        else:
            outsiders = sorted(str(u) for u in set(chosen) - set(members))
            if outsiders:
                raise InvalidInput(
                    f"not members of this organization: {', '.join(outsiders[:10])}",
                    field="participants",
                )
        authors: builtins.list[User] = []
        skipped: builtins.list[SkippedParticipant] = []
        for user_id in chosen:
            user = await uow.users.get(user_id)
            if user is None or not user.joins_campaigns:
                skipped.append(SkippedParticipant(user_id=user_id, reason=SkipReason.OPTED_OUT))
            else:
                authors.append(user)
        if not authors:
            raise InvalidInput(
                "none of the participants takes part in campaigns (each turned them off in "
                "their profile)",
                field="participants",
            )
        return authors, skipped

    async def _author_context(
        self, uow: UnitOfWork, org_id: UUID, user: User, variant: int
    ) -> AuthorContext:
        """What gives ``user``'s variant their angle: their profile and latest published posts."""
        recent = await uow.posts.list(
            org_id, author_id=user.id, status=PostStatus.PUBLISHED, limit=PAST_POSTS
        )
        return AuthorContext(
            user_id=user.id,
            name=user.name,
            headline=user.headline,
            about=user.about,
            past_posts=tuple(_cut(p.body) for p in recent if p.body),
            variant=variant,
        )

    async def _check_campaigns(
        self, uow: UnitOfWork, org_id: UUID, plan: Plan, period: datetime
    ) -> None:
        """Campaigns started this billing period against ``plan.campaigns``."""
        if plan.campaigns is None:
            return
        await uow.organizations.lock(org_id)  # serialise quota checks of one organization
        used = await uow.campaigns.count_since(org_id, period)
        if used >= plan.campaigns:
            raise QuotaExceeded(
                f"plan '{plan.name}' allows {plan.campaigns} campaigns a month; all are used. "
                f"To raise the limit, {upgrade_hint(self.ctx, org_id, 'GHOSTART_BILLING')}",
                plan=plan.name,
                limit=plan.campaigns,
                used=used,
                period_start=period.isoformat(),
            )

    async def _check_quota(
        self, uow: UnitOfWork, org_id: UUID, plan: Plan, needed: int, period: datetime
    ) -> None:
        if plan.monthly_generations is None:
            return
        await uow.organizations.lock(org_id)  # serialise quota checks of one organization
        used = await uow.generations.count_since(org_id, period)
        if used + needed > plan.monthly_generations:
            left = max(0, plan.monthly_generations - used)
            hint = upgrade_hint(self.ctx, org_id, "GHOSTART_DEFAULT_MONTHLY_GENERATIONS")
            raise QuotaExceeded(
                f"this needs {needed} generations and plan '{plan.name}' has {left} of "
                f"{plan.monthly_generations} left this month. To raise the limit, {hint}",
                plan=plan.name,
                limit=plan.monthly_generations,
                used=used,
                period_start=period.isoformat(),
            )

    async def _generation(
        self, uow: UnitOfWork, voice: BrandVoice, request: ContentRequest, now: datetime
    ) -> tuple[Generation, Job | None]:
        """A generation of ``request`` with its job (or the live one it joins, without)."""
        org_id = voice.organization_id
        model = self.ctx.generator.model
        generation, created = await uow.generations.add_or_join(
            Generation(
                organization_id=org_id,
                fingerprint=fingerprint(org_id, voice, model, request),
                brand_voice_id=voice.id,
                brand_voice_version=voice.version,
                request=request,
                model=model,
                created_at=now,
            )
        )
        if not created:
            return generation, None
        job = self.ctx.new_job(
            JobKind.GENERATE,
            organization_id=org_id,
            subject_id=generation.id,
            idempotency_key=f"generate:{generation.id}",
        )
        await uow.jobs.add(job)
        return generation, job

    async def _draft(
        self,
        uow: UnitOfWork,
        campaign: Campaign,
        voice: BrandVoice,
        request: ContentRequest,
        author_id: UUID,
        now: datetime,
    ) -> tuple[Post, Job | None]:
        """One participant's variant: a generation, its job, and their post."""
        generation, job = await self._generation(uow, voice, request, now)
        running = generation.status is GenerationStatus.RUNNING
        post = Post(
            organization_id=campaign.organization_id,
            author_id=author_id,
            brand_voice_id=voice.id,
            generation_id=generation.id,
            campaign_id=campaign.id,
            request=request,
            status=PostStatus.GENERATING if running else PostStatus.REQUESTED,
            created_at=now,
            updated_at=now,
        )
        await uow.posts.add(post)
        return post, job

    async def _redraft(
        self, uow: UnitOfWork, post: Post, voice: BrandVoice, now: datetime
    ) -> Job | None:
        """Put a variant whose generation failed back in line, with a new generation."""
        assert post.request is not None
        generation, job = await self._generation(uow, voice, post.request, now)
        updated = post.model_copy(
            update={
                "status": PostStatus.REQUESTED,
                "generation_id": generation.id,
                "error": None,
                "revision": post.revision + 1,
                "updated_at": now,
            }
        )
        if not await uow.posts.update(updated, expected_revision=post.revision):
            raise Conflict(f"post {post.id} changed meanwhile; try again")
        return job
