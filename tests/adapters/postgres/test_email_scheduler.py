"""Three workers run the digest scheduler on one PostgreSQL database: one digest per member.

Each worker is its own :class:`Ghostart` (its own connection pool, in-process queue and
scheduler), as three worker processes would be; they share the database and the clock. Their
schedulers race for the same slots as soon as they start; the slots' rows and the outbox's
unique keys make each member's digest exist, and be sent, once.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ghostart.app import Ghostart
from ghostart.ports.email import EmailStatus
from ghostart.ports.mailer import Email
from ghostart.testing import ManualClock
from tests.email_support import ZONES, digest_team, members
from tests.support import make_settings

SLOTS = "select key, fired_by from scheduler_slots"


class RecordingMailer:
    """Every email any worker sends (one mailer shared by the three, like one provider)."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> str:
        self.sent.append(email)
        await asyncio.sleep(0)  # let the other workers run in between
        return f"recorded:{len(self.sent)}"


async def test_three_workers_send_each_member_one_digest_per_slot(
    tmp_path: Path, postgres_url: str
) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = make_settings(tmp_path, database_url=postgres_url, secret_keys=f"k1:{key}")
    clock = ManualClock(ZONES["creator"][1] + timedelta(minutes=1))  # every slot has begun
    mailer = RecordingMailer()
    apps = [Ghostart.from_settings(settings, clock=clock, mailer=mailer) for _ in range(3)]
    try:
        for app in apps:
            await app.start(worker=False)
        team = await digest_team(apps[0])
        people = {uid: who for who, uid in members(team).items()}

        for app in apps:  # three workers; each one's scheduler ticks at once
            app.start_worker()
        async with asyncio.timeout(30):
            while True:
                async with apps[0].store.unit_of_work(readonly=True) as uow:
                    rows = [
                        r
                        for uid in people
                        for r in await uow.email.list_for_user(uid)
                        if r.template == "weekly_digest"
                    ]
                if len(rows) == 3 and all(r.status is EmailStatus.SENT for r in rows):
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a few more reconcile ticks of every worker

        digests = [e for e in mailer.sent if e.tags.get("template") == "weekly_digest"]
        assert Counter(to for e in digests for to in e.to) == {
            "admin@acme.example.com": 1,
            "brand_creator@acme.example.com": 1,
            "employee@acme.example.com": 1,
        }
        assert Counter(people[r.user_id] for r in rows) == {"admin": 1, "employee": 1, "creator": 1}
        async with apps[0].store.unit_of_work(readonly=True) as uow:
            conn: Any = getattr(uow, "connection")  # noqa: B009 - not on the port
            fired = sorted((await conn.execute(sa.text(SLOTS))).all())
        # Kolkata, Paris and New York: three slots, each fired by one worker.
        assert [k for k, _ in fired] == [
            "digest:2026-12-07T03:30Z",
            "digest:2026-12-07T08:00Z",
            "digest:2026-12-07T14:00Z",
        ]
    finally:
        for app in apps:
            await app.aclose()
