"""The email queue manager: domain events to outbox rows, rows to sent mail, and the way back.

- :meth:`EmailService.on_event` (called through ``ghostart_handle_event``, never by a service)
  turns an event into outbox rows per :data:`~ghostart.email.routing.EVENT_EMAILS`: recipients
  resolved in the event's organization, optional mail dropped for users who opted out or whose
  address is suppressed, all in one transaction.
- :class:`EmailSender` (every worker runs one) claims due rows and sends them under the
  :class:`~ghostart.retry.RetryPolicy`, each with its row's idempotency key (digests in batch
  requests); a transient failure waits its backoff in the row, a permanent one fails it.
- :meth:`EmailService.unsubscribe` (RFC 8058) and :meth:`EmailService.record_delivery` (provider
  webhooks: a hard bounce or a complaint suppresses the address) close the loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ghostart.email.delivery import DeliveryEvent, DeliveryEventType
from ghostart.email.routing import (
    REVIEW_PERMISSION,
    EmailRule,
    Recipients,
    email_idempotency_key,
    rules_for,
)
from ghostart.email.sending import BatchMailer, send_many
from ghostart.email.settings import EmailSettings, load_email_settings
from ghostart.email.templates import EmailRenderer
from ghostart.email.unsubscribe import (
    Unsubscribe,
    UnsubscribeSigner,
    unsubscribe_headers,
    unsubscribe_url,
)
from ghostart.errors import GhostartError, NotFound, PermanentError, TransientError
from ghostart.models import (
    DomainEvent,
    EmailCategory,
    EmailPreferences,
    EventName,
    Post,
    Role,
    User,
    as_uuid,
)
from ghostart.ports import Mailer, UnitOfWork
from ghostart.ports.email import EmailStatus, OutboxEmail
from ghostart.ports.mailer import Email
from ghostart.rbac import PERMISSIONS
from ghostart.services.context import ServiceContext
from ghostart.services.profile import ProfileService

__all__ = ["EmailSender", "EmailService", "address_hash"]

log = logging.getLogger("ghostart.email")

#: Resend keeps an idempotency key for 24 hours: a row first queued longer ago than this is
#: failed rather than sent again under a key the provider may have forgotten.
SEND_WINDOW = timedelta(hours=23)
_REVIEW = {role for role, granted in PERMISSIONS.items() if REVIEW_PERMISSION in granted}
_DELIVERIES = {
    DeliveryEventType.DELIVERED,
    DeliveryEventType.BOUNCED,
    DeliveryEventType.COMPLAINED,
}


def address_hash(address: str) -> str:
    """What the suppression list keeps of an address: SHA-256 of it, lower-cased."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class _Target:
    """One email of one rule to one user, before it becomes a row."""

    user_id: UUID
    post: Post | None = None
    campaign_name: str | None = None


class EmailService:
    """Builds, queues and tracks email. Built once by the composition root.

    Args:
        ctx: The services' context (store, queue, clock, retry policy, monitor).
        mailer: The Mailer adapter.
        settings: ``GHOSTART_EMAIL_*``.
        signer: Signs and verifies unsubscribe tokens.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        mailer: Mailer,
        settings: EmailSettings,
        signer: UnsubscribeSigner,
    ) -> None:
        self.ctx = ctx
        self.mailer = mailer
        self.settings = settings
        self.signer = signer
        self.public_url = settings.public_url.rstrip("/")
        self.renderer = EmailRenderer(
            product_name=settings.product_name,
            preferences_url=f"{self.public_url}/#email-preferences",
        )

    @classmethod
    def from_settings(
        cls, ctx: ServiceContext, mailer: Mailer, settings: EmailSettings | None = None
    ) -> EmailService:
        """The service on ``GHOSTART_EMAIL_*`` (signing keys, or a local key under ``home``)."""
        settings = settings or load_email_settings()
        return cls(ctx, mailer, settings, settings.signer(ctx.settings.home))

    # -- events -> outbox ------------------------------------------------------------------

    async def on_event(self, event: DomainEvent) -> list[OutboxEmail]:
        """Queue the emails ``event`` sends (none for most events); the rows written.

        Idempotent: an event handled twice writes its rows once (the keys derive from it).
        """
        rules = rules_for(event.name)
        if not rules:
            return []
        async with self.ctx.store.unit_of_work() as uow:
            rows: list[OutboxEmail] = []
            for rule in rules:
                rows += await self._rows_for(uow, event, rule)
            added = await uow.email.add_many(rows)
        self.ctx.monitor.incr("ghostart.email.queued", value=len(added), event=event.name)
        return added

    async def _rows_for(
        self, uow: UnitOfWork, event: DomainEvent, rule: EmailRule
    ) -> list[OutboxEmail]:
        org_id = event.organization_id
        org = await uow.organizations.get(org_id) if org_id is not None else None
        if org_id is not None and org is None:
            return []  # the organization is gone
        targets = await self._targets(uow, event, rule)
        category = rule.category
        users: dict[UUID, User | None] = {}
        for target in targets:
            if target.user_id not in users:
                users[target.user_id] = await uow.users.get(target.user_id)
        addresses = [u.email for u in users.values() if u is not None and u.email]
        suppressed = await uow.email.suppressed([address_hash(a) for a in addresses])
        rows = []
        seen: set[str] = set()
        now = self.ctx.clock.now()
        for target in targets:
            user = users[target.user_id]
            if user is None or not user.email:
                continue
            if not self._may_send(user, category, suppressed):
                continue
            key = self._key(event, rule, user.id)
            if key in seen:
                continue
            seen.add(key)
            try:
                data = self._data(rule.template, event, user, org.name if org else None, target)
                checked = self.renderer.context(rule.template, data)
            except GhostartError as exc:  # a bug or an odd payload: this email, not the others
                self.ctx.monitor.capture_exception(exc, event=event.name, template=rule.template)
                log.warning("email %s for %s not queued: %s", rule.template, event.name, exc)
                continue
            rows.append(
                OutboxEmail(
                    organization_id=org_id,
                    user_id=user.id,
                    recipient=str(user.email),
                    template=rule.template,
                    category=category,
                    data=checked.model_dump(mode="json"),
                    idempotency_key=key,
                    created_at=now,
                    not_before=now,
                )
            )
        return rows

    @staticmethod
    def _may_send(user: User, category: EmailCategory, suppressed: set[str]) -> bool:
        if category is EmailCategory.TRANSACTIONAL:
            return True
        if not user.email or address_hash(user.email) in suppressed:
            return False
        return user.email_preferences.allows(category)

    @staticmethod
    def _key(event: DomainEvent, rule: EmailRule, user_id: UUID) -> str:
        expires = event.payload.get("expires_at")
        if event.name == EventName.LINKEDIN_EXPIRING and isinstance(expires, str) and expires:
            # Reminders may be emitted by several workers: one email per expiry, not per event.
            org = event.organization_id.hex if event.organization_id else "-"
            return f"reminder:{rule.template}:{org}:{user_id.hex}:{expires[:40]}"
        return email_idempotency_key(event.id, rule.template, user_id)

    async def _targets(self, uow: UnitOfWork, event: DomainEvent, rule: EmailRule) -> list[_Target]:
        p, org_id = event.payload, event.organization_id
        members = {m.user_id: m for m in await uow.memberships.list(org_id)} if org_id else {}

        def member(user_id: UUID | None) -> bool:
            return user_id is not None and (org_id is None or user_id in members)

        async def post(post_id: object) -> Post | None:
            pid = _uuid(post_id)
            if pid is None or org_id is None:
                return None
            return await uow.posts.get(org_id, pid)

        match rule.recipients:
            case Recipients.AUTHOR if event.name in (
                EventName.CONTENT_GENERATED,
                EventName.CONTENT_FAILED,
            ):
                posts = [x for x in [await post(i) for i in p.get("post_ids") or []] if x]
                authors = {_uuid(a) for a in p.get("author_ids") or []} or {
                    x.author_id for x in posts
                }
                firsts: dict[UUID, Post] = {}
                for x in posts:
                    firsts.setdefault(x.author_id, x)
                return [
                    _Target(a, firsts.get(a)) for a in sorted(x for x in authors if x and member(x))
                ]
            case Recipients.AUTHOR:
                found = await post(p.get("post_id"))
                author = _uuid(p.get("author_id")) or (found.author_id if found else None)
                return [_Target(author, found)] if author and member(author) and found else []
            case Recipients.REVIEWERS:
                found = await post(p.get("post_id"))
                if found is None:
                    return []
                return [
                    _Target(uid, found)
                    for uid, m in sorted(members.items())
                    if m.role in _REVIEW and uid != found.author_id
                ]
            case Recipients.POST_AUTHORS:
                posts = [x for x in [await post(i) for i in p.get("post_ids") or []] if x]
                campaign_id = _uuid(p.get("campaign_id"))
                campaign = (
                    await uow.campaigns.get(org_id, campaign_id) if org_id and campaign_id else None
                )
                name = campaign.name if campaign else None
                return [_Target(x.author_id, x, name) for x in posts if member(x.author_id)]
            case Recipients.SUBJECT:
                subject = _uuid(p.get("user_id"))
                removed = event.name == EventName.MEMBER_REMOVED  # no member any more, by design
                return [_Target(subject)] if subject and (removed or member(subject)) else []
            case Recipients.ADMINS:
                return [_Target(uid) for uid, m in sorted(members.items()) if m.role is Role.ADMIN]
        return []  # pragma: no cover - every Recipients is matched above

    def _data(
        self,
        template: str,
        event: DomainEvent,
        user: User,
        organization_name: str | None,
        target: _Target,
    ) -> dict[str, Any]:
        p = event.payload
        base: dict[str, Any] = {
            "recipient_name": user.name,
            "organization_name": organization_name,
            "app_url": self.public_url,
            "timezone": user.timezone,
        }
        post = target.post
        post_fields: dict[str, Any] = {}
        if post is not None:
            post_fields = {
                "post_body": post.body or "",
                "post_url": f"{self.public_url}/?post={post.id}",
            }
        match template:
            case "draft_ready" | "post_approved" | "post_scheduled" | "review_requested":
                extra: dict[str, Any] = {}
                if post is not None and template == "draft_ready":
                    extra["ai_generated"] = bool(post.ai_generated)
                if post is not None and template == "post_scheduled":
                    extra["scheduled_for"] = post.scheduled_at
                return base | post_fields | extra
            case "post_rejected":
                return base | post_fields | {"note": str(p.get("note") or "")[:2000] or None}
            case "post_published":
                url = post.external_url if post is not None else None
                return base | post_fields | {"linkedin_url": url}
            case "publish_failed":
                reconnect = bool(p.get("needs_reconnect"))
                return (
                    base
                    | post_fields
                    | {
                        "error": str(p.get("error") or "the publisher gave no reason")[:2000],
                        "needs_reconnect": reconnect,
                        "reconnect_url": self._reconnect_url() if reconnect else None,
                    }
                )
            case "generation_failed":
                topic = post.request.topic if post is not None and post.request else "your post"
                return base | {
                    "topic": str(topic)[:500],
                    "error": str(p.get("error") or "the generator gave no reason")[:2000],
                    "rejected": bool(p.get("rejected")),
                    "request_url": f"{self.public_url}/",
                }
            case "campaign_post_ready":
                return base | post_fields | {"campaign_name": target.campaign_name}
            case "member_added" | "member_role_changed" | "member_removed":
                return base | {"role": p.get("role")}
            case "plan_changed":
                return base | {"plan": p.get("to") or p.get("plan")}
            case "payment_failed" | "trial_ending":
                return base | {
                    "plan": p.get("plan"),
                    "billing_url": f"{self.public_url}/#billing",
                    "retry_at": p.get("next_payment_attempt"),
                    "trial_ends_at": p.get("trial_end"),
                }
            case "linkedin_reconnect":
                return base | {
                    "reconnect_url": self._reconnect_url(),
                    "expires_at": p.get("expires_at"),
                    "expired": event.name == EventName.LINKEDIN_NEEDS_RECONNECT,
                }
        raise PermanentError(f"no data builder for email template {template!r}")

    def _reconnect_url(self) -> str:
        return f"{self.public_url}/#linkedin"

    # -- outbox -> mail --------------------------------------------------------------------

    def build(self, row: OutboxEmail) -> Email:
        """The message of ``row``: the same bytes on every attempt (the token is fixed too)."""
        headers: dict[str, str] = {}
        link = None
        if row.category is not EmailCategory.TRANSACTIONAL:
            token = self.signer.sign(row.user_id, row.category, issued_at=row.created_at)
            link = unsubscribe_url(self.public_url, token)
            headers = unsubscribe_headers(link)
        rendered = self.renderer.render(row.template, row.data, unsubscribe_url=link)
        return rendered.to_email(
            [row.recipient], idempotency_key=row.idempotency_key, headers=headers
        )

    @property
    def max_batch(self) -> int:
        """How many emails one send request may carry."""
        mailer = self.mailer
        return max(1, mailer.max_batch) if isinstance(mailer, BatchMailer) else 1

    # -- unsubscribe and deliveries --------------------------------------------------------

    async def unsubscribe(self, token: str, *, profiles: ProfileService) -> Unsubscribe:
        """Turn off the category ``token`` names for its user (RFC 8058 one-click).

        Idempotent; a user who no longer exists has nothing to turn off.

        Raises:
            UnsubscribeTokenInvalid: The token is malformed, altered or under an unknown key.
            UnsubscribeTokenExpired: The token is genuine but too old.
        """
        request = self.signer.verify(token)
        with contextlib.suppress(NotFound):
            await profiles.set_email_preferences(request.user_id, {request.category.value: False})
        self.ctx.monitor.incr("ghostart.email.unsubscribed", category=request.category.value)
        return request

    async def record_delivery(self, event: DeliveryEvent) -> int:
        """Apply a verified delivery event; how many addresses it suppressed (newly)."""
        suppressed = 0
        async with self.ctx.store.unit_of_work() as uow:
            if event.message_id and event.type in _DELIVERIES:
                await uow.email.record_delivery(event.message_id, event.type.value)
            if event.suppresses:
                for address in event.recipients:
                    new = await uow.email.suppress(
                        address_hash(address),
                        reason=event.type.value,
                        provider=event.provider,
                        message_id=event.message_id,
                        at=self.ctx.clock.now(),
                    )
                    suppressed += int(new)
        self.ctx.monitor.incr("ghostart.email.delivery", type=event.type.value)
        return suppressed

    async def recent(self, user_id: UUID, *, limit: int = 20) -> list[OutboxEmail]:
        """The user's newest emails (for their settings page)."""
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            return await uow.email.list_for_user(as_uuid(user_id, "user_id"), limit=limit)


def _uuid(value: object) -> UUID | None:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None


class EmailSender:
    """Claims due outbox rows and sends them; every worker runs one (``Worker(periodic=...)``).

    Rows are claimed by compare-and-set with a lease (``GHOSTART_JOB_LEASE_SECONDS``), so
    workers never send the same row at once, and a row whose sender died is taken again once
    its lease passes (with the same key: the provider sends it once). Preferences and
    suppression are checked again at send time. Digests go in batches (``send_many``).
    """

    def __init__(self, service: EmailService, *, owner: str | None = None) -> None:
        self.service = service
        self.ctx = service.ctx
        self.owner = owner or f"email:{uuid.uuid4().hex[:12]}"

    async def send_due(self, *, limit: int = 500) -> int:
        """Send what is due (up to ``limit`` rows); how many were sent."""
        ctx, service = self.ctx, self.service
        now = ctx.clock.now()
        lease = now + timedelta(seconds=ctx.settings.job_lease_seconds)
        async with ctx.store.unit_of_work() as uow:
            rows = await uow.email.claim_due(
                now=now, owner=self.owner, lease_until=lease, limit=limit
            )
            if not rows:
                return 0
            send = await self._still_wanted(uow, rows, now)
        sent = 0
        digests = [r for r in send if r.category is EmailCategory.DIGEST]
        singles = [[r] for r in send if r.category is not EmailCategory.DIGEST]
        batch = service.max_batch
        groups = singles + [digests[i : i + batch] for i in range(0, len(digests), batch)]
        for group in groups:
            sent += await self._send(group)
        return sent

    async def _still_wanted(
        self, uow: UnitOfWork, rows: list[OutboxEmail], now: datetime
    ) -> list[OutboxEmail]:
        users: dict[UUID, User | None] = {}
        for row in rows:
            if row.user_id not in users:
                users[row.user_id] = await uow.users.get(row.user_id)
        suppressed = await uow.email.suppressed([address_hash(r.recipient) for r in rows])
        send, skip, stale = [], [], []
        for row in rows:
            user = users[row.user_id]
            optional = row.category is not EmailCategory.TRANSACTIONAL
            preferences = user.email_preferences if user else EmailPreferences()
            if optional and (
                user is None
                or address_hash(row.recipient) in suppressed
                or not preferences.allows(row.category)
            ):
                skip.append(row.id)
            elif now - row.created_at > SEND_WINDOW:
                stale.append(row.id)
            else:
                send.append(row)
        await uow.email.mark(skip, EmailStatus.SKIPPED, error="opted out or suppressed")
        await uow.email.mark(stale, EmailStatus.FAILED, error="not sent within the send window")
        return send

    async def _send(self, rows: list[OutboxEmail]) -> int:
        ctx, service = self.ctx, self.service
        try:
            emails = [service.build(row) for row in rows]
            if len(emails) == 1:
                ids = [
                    await ctx.retry.call(
                        lambda: service.mailer.send(emails[0]), operation="mailer.send"
                    )
                ]
            else:
                ids = await ctx.retry.call(
                    lambda: send_many(service.mailer, emails), operation="mailer.send_many"
                )
        except Exception as exc:
            await self._failed(rows, exc)
            return 0
        now = ctx.clock.now()
        async with ctx.store.unit_of_work() as uow:
            for row, message_id in zip(rows, ids, strict=True):
                await uow.email.mark_sent(row.id, message_id=message_id, at=now)
        ctx.monitor.incr("ghostart.email.sent", value=len(ids))
        return len(ids)

    async def _failed(self, rows: list[OutboxEmail], exc: Exception) -> None:
        """A transient failure waits its backoff (``retry_after`` for a 429); others fail."""
        ctx = self.ctx
        retry = isinstance(exc, TransientError) or not isinstance(exc, GhostartError)
        if not isinstance(exc, GhostartError):
            ctx.monitor.capture_exception(exc, operation="email.send")
        error = (exc.message if isinstance(exc, GhostartError) else type(exc).__name__)[:2000]
        now = ctx.clock.now()
        async with ctx.store.unit_of_work() as uow:
            for row in rows:
                if retry and row.attempts < ctx.settings.job_max_attempts:
                    delay = ctx.retry.backoff(row.attempts, exc)
                    await uow.email.retry_later(
                        row.id,
                        owner=self.owner,
                        not_before=now + timedelta(seconds=delay),
                        error=error,
                    )
                else:
                    await uow.email.mark([row.id], EmailStatus.FAILED, error=error)
        ctx.monitor.incr("ghostart.email.failed", error=type(exc).__name__, retry=str(retry))
        log.warning("email %s: %s (%s)", "retry" if retry else "failed", error, len(rows))
