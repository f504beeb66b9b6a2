"""The outbox sender: leases, a dead sender's rows taken over, retries, failures, batches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from ghostart.app import Ghostart
from ghostart.email.service import EmailSender
from ghostart.errors import PermanentError, RateLimited
from ghostart.models import EmailCategory
from ghostart.ports.email import EmailStatus, OutboxEmail
from ghostart.ports.mailer import Email
from ghostart.testing import ManualClock
from tests.support import Team, make_settings, make_team


class ScriptedMailer:
    """Raises the scripted errors in turn, then sends; batches of ``max_batch``."""

    def __init__(self, *errors: Exception, max_batch: int = 2) -> None:
        self.errors = list(errors)
        self.max_batch = max_batch
        self.calls: list[list[str]] = []

    def _next(self, keys: list[str]) -> None:
        self.calls.append(keys)
        if self.errors:
            error = self.errors[0] if len(self.errors) == 1 else self.errors.pop(0)
            raise error

    async def send(self, email: Email) -> str:
        self._next([email.idempotency_key])
        return f"id:{email.idempotency_key}"

    async def send_batch(
        self, emails: Sequence[Email], *, idempotency_key: str | None = None
    ) -> list[str]:
        self._next([e.idempotency_key for e in emails])
        return [f"id:{e.idempotency_key}" for e in emails]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def _app(tmp_path: Path, clock: ManualClock, mailer: ScriptedMailer) -> Ghostart:
    app = Ghostart.from_settings(make_settings(tmp_path), clock=clock, mailer=mailer)
    return await app.start(worker=False)


@pytest.fixture
async def quiet(tmp_path: Path, clock: ManualClock) -> AsyncIterator[tuple[Ghostart, Team]]:
    app = await _app(tmp_path, clock, ScriptedMailer())
    team = await make_team(app)
    await app.email_sender.send_due()  # the member_added emails, out of the way
    try:
        yield app, team
    finally:
        await app.aclose()


async def _queue(app: Ghostart, team: Team, category: EmailCategory, n: int) -> list[UUID]:
    template = "weekly_digest" if category is EmailCategory.DIGEST else "member_role_changed"
    data = app.email.renderer.spec(template).sample
    now = app.clock.now()
    rows = [
        OutboxEmail(
            organization_id=team.org.id,
            user_id=team.employee.user_id,
            recipient="employee@acme.example.com",
            template=template,
            category=category,
            data=data,
            idempotency_key=f"test:{template}:{i}",
            created_at=now,
            not_before=now,
        )
        for i in range(n)
    ]
    async with app.store.unit_of_work() as uow:
        await uow.email.add_many(rows)
    return [r.id for r in rows]


async def _row(app: Ghostart, email_id: UUID) -> OutboxEmail:
    async with app.store.unit_of_work(readonly=True) as uow:
        row = await uow.email.get(email_id)
    assert row is not None
    return row


async def test_a_dead_senders_rows_are_taken_over_after_its_lease(
    quiet: tuple[Ghostart, Team], clock: ManualClock
) -> None:
    app, team = quiet
    mailer = app.mailer
    assert isinstance(mailer, ScriptedMailer)
    [email_id] = await _queue(app, team, EmailCategory.TRANSACTIONAL, 1)
    async with app.store.unit_of_work() as uow:  # a worker claims it, then dies
        [claimed] = await uow.email.claim_due(
            now=clock.now(), owner="dead", lease_until=clock.now() + timedelta(seconds=60), limit=9
        )
    before = len(mailer.calls)
    assert await EmailSender(app.email, owner="live").send_due() == 0  # leased elsewhere
    clock.advance(61)
    assert await EmailSender(app.email, owner="live").send_due() == 1
    assert await EmailSender(app.email, owner="other").send_due() == 0  # sent: never again
    row = await _row(app, email_id)
    assert row.status is EmailStatus.SENT and row.attempts == 2
    assert mailer.calls[before:] == [[claimed.idempotency_key]]


async def test_transient_failures_wait_in_the_row_then_fail_after_max_attempts(
    tmp_path: Path, clock: ManualClock
) -> None:
    mailer = ScriptedMailer(RateLimited("slow down", retry_after=90.0))
    app = await _app(tmp_path, clock, mailer)
    try:
        team = await make_team(app)
        [email_id] = await _queue(app, team, EmailCategory.TRANSACTIONAL, 1)
        sender = EmailSender(app.email)
        for attempt in range(1, app.settings.job_max_attempts):
            await sender.send_due()
            row = await _row(app, email_id)
            assert (row.status, row.attempts) == (EmailStatus.PENDING, attempt)
            assert row.not_before == clock.now() + timedelta(seconds=90)  # as Resend said
            assert await sender.send_due() == 0  # not before then
            clock.advance(90)
        await sender.send_due()
        row = await _row(app, email_id)
        assert (row.status, row.attempts) == (EmailStatus.FAILED, app.settings.job_max_attempts)
        keys = {k for call in mailer.calls for k in call if k == row.idempotency_key}
        assert keys == {row.idempotency_key}  # one key on every attempt
    finally:
        await app.aclose()


async def test_a_permanent_error_fails_the_row_at_once(tmp_path: Path, clock: ManualClock) -> None:
    mailer = ScriptedMailer(PermanentError("the address was refused"))
    app = await _app(tmp_path, clock, mailer)
    try:
        team = await make_team(app)
        [email_id] = await _queue(app, team, EmailCategory.TRANSACTIONAL, 1)
        mailer.calls.clear()
        await app.email_sender.send_due()
        row = await _row(app, email_id)
        assert row.status is EmailStatus.FAILED and row.error == "the address was refused"
        clock.advance(3600)
        await app.email_sender.send_due()
        assert [c for c in mailer.calls if row.idempotency_key in c] == [[row.idempotency_key]]
    finally:
        await app.aclose()


async def test_digests_go_in_batches_other_mail_one_by_one(
    quiet: tuple[Ghostart, Team],
) -> None:
    app, team = quiet
    mailer = app.mailer
    assert isinstance(mailer, ScriptedMailer)
    mailer.calls.clear()
    await _queue(app, team, EmailCategory.DIGEST, 3)
    await _queue(app, team, EmailCategory.TRANSACTIONAL, 2)
    assert await app.email_sender.send_due() == 5
    assert sorted(len(c) for c in mailer.calls) == [1, 1, 1, 2]  # 2 singles, digests 2 + 1
    assert all(k.startswith("test:weekly_digest") for c in mailer.calls if len(c) == 2 for k in c)
