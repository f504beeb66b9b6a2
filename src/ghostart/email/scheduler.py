"""The email scheduler in the worker: the weekly digest, in each member's time zone, once.

Every worker ticks it (``Worker(periodic=...)``); the workers' :class:`EmailSender` then send
the digests, in batches. A digest slot is "the digest weekday at the
digest hour" in a time zone; its start in UTC is always on a quarter hour (every zone's offset is
a multiple of 15 minutes), so the scheduler looks at quarter hours: for each one that has begun
within the catch-up window, it finds the time zones whose slot starts exactly then and fires the
slot ``digest:<UTC start>``.

Firing is exactly once by construction, however many workers tick: the slot's row in
``scheduler_slots`` is inserted (``ON CONFLICT DO NOTHING``) in the same transaction as the
slot's outbox rows. The worker that inserts it writes the digests; the others find it
taken and write nothing; a worker that dies mid-way rolls back its slot with its rows, and the
next tick fires it again. The digests' own keys (unique in the outbox, and Resend's idempotency
keys) are the second guard. Slots missed while no worker ran are caught up if less than
``GHOSTART_EMAIL_DIGEST_CATCH_UP_HOURS`` late, else skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ghostart.email.routing import digest_idempotency_key
from ghostart.email.service import EmailService, address_hash
from ghostart.models import EmailCategory, EmailPreferences, Permission, PostStatus, Role
from ghostart.ports import UnitOfWork
from ghostart.ports.email import OutboxEmail, Recipient
from ghostart.rbac import PERMISSIONS

__all__ = ["EmailScheduler", "slot_start"]

log = logging.getLogger("ghostart.email.scheduler")

_QUARTER = timedelta(minutes=15)
_WEEK = timedelta(days=7)


def _quarter(when: datetime) -> datetime:
    return when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)


def slot_start(zone: str, quarter: datetime, *, weekday: int, hour: int) -> bool:
    """Whether the digest slot of ``zone`` (``weekday`` at ``hour``:00 there) starts at ``quarter``."""
    try:
        local = quarter.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return local.weekday() == weekday and local.hour == hour and local.minute == 0


class EmailScheduler:
    """Fires the weekly digest slots that are due; one per worker, all sharing the store."""

    def __init__(self, service: EmailService, *, owner: str | None = None) -> None:
        self.service = service
        self.ctx = service.ctx
        self.settings = service.settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._seen: dict[datetime, bool] = {}
        self._next_tick: datetime | None = None

    async def tick(self) -> int:
        """Fire what is due, at most once per ``GHOSTART_EMAIL_SCHEDULER_INTERVAL_SECONDS``."""
        now = self.ctx.clock.now()
        if self._next_tick is not None and now < self._next_tick:
            return 0
        self._next_tick = now + timedelta(seconds=self.settings.scheduler_interval_seconds)
        return await self.run_due(now)

    async def run_due(self, now: datetime) -> int:
        """Fire every slot begun in the catch-up window and not seen here; digests written."""
        current = _quarter(now)
        oldest = current - timedelta(hours=self.settings.digest_catch_up_hours)
        self._seen = {q: v for q, v in self._seen.items() if q >= oldest}
        written = 0
        quarter = oldest
        zones: list[str] | None = None
        while quarter <= current:
            if quarter not in self._seen:
                if zones is None:
                    async with self.ctx.store.unit_of_work(readonly=True) as uow:
                        zones = await uow.email.timezones()
                written += await self._fire(quarter, zones, now)
                self._seen[quarter] = True
            quarter += _QUARTER
        return written

    async def _fire(self, quarter: datetime, zones: list[str], now: datetime) -> int:
        settings = self.settings
        due = [
            z
            for z in zones
            if slot_start(z, quarter, weekday=settings.digest_weekday, hour=settings.digest_hour)
        ]
        if not due:
            return 0
        key = f"digest:{quarter:%Y-%m-%dT%H:%M}Z"
        async with self.ctx.store.unit_of_work() as uow:
            if not await uow.email.claim_slot(key, owner=self.owner, at=now):
                return 0  # another worker fired it
            recipients = await uow.email.recipients(timezones=due)
            suppressed = await uow.email.suppressed([address_hash(r.email) for r in recipients])
            rows = []
            for recipient in recipients:
                if address_hash(recipient.email) in suppressed:
                    continue
                prefs = EmailPreferences.model_validate(recipient.email_preferences)
                if not prefs.allows(EmailCategory.DIGEST):
                    continue
                row = await self._digest(uow, recipient, quarter, now)
                if row is not None:
                    rows.append(row)
            added = await uow.email.add_many(rows)
        log.info("digest slot %s fired: %d digest(s)", key, len(added))
        self.ctx.monitor.incr("ghostart.email.digests", value=len(added))
        return len(added)

    async def _digest(
        self, uow: UnitOfWork, recipient: Recipient, slot: datetime, now: datetime
    ) -> OutboxEmail | None:
        role = Role(recipient.role)
        everyone = Permission.POST_READ_ANY in PERMISSIONS[role]
        summary = await uow.email.digest(
            recipient.organization_id,
            author_id=None if everyone else recipient.user_id,
            since=slot - _WEEK,
            until=slot,
        )
        if not summary.counts:
            return None  # nothing happened: no digest
        public = self.service.public_url
        zone = ZoneInfo(recipient.timezone)
        c = summary.counts
        data = {
            "recipient_name": recipient.name,
            "organization_name": recipient.organization_name,
            "app_url": public,
            "timezone": recipient.timezone,
            "period_start": (slot - _WEEK).astimezone(zone),
            "period_end": slot.astimezone(zone),
            "generated": c.get(PostStatus.DRAFT, 0),
            "in_review": c.get(PostStatus.IN_REVIEW, 0),
            "scheduled": c.get(PostStatus.SCHEDULED, 0),
            "published": c.get(PostStatus.PUBLISHED, 0),
            "failed": c.get(PostStatus.FAILED, 0),
            "items": [
                {"post_body": p.body, "status": p.status.value, "url": f"{public}/?post={p.id}"}
                for p in summary.items
            ],
        }
        checked = self.service.renderer.context("weekly_digest", data)
        return OutboxEmail(
            organization_id=recipient.organization_id,
            user_id=recipient.user_id,
            recipient=recipient.email,
            template="weekly_digest",
            category=EmailCategory.DIGEST,
            data=checked.model_dump(mode="json"),
            idempotency_key=digest_idempotency_key(
                recipient.user_id, recipient.organization_id, slot
            ),
            created_at=now,
            not_before=now,
        )
