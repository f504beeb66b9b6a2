"""The event -> email table, idempotency keys, and sending many (batched where possible)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from ghostart.builtin.mailer_console import ConsoleMailer
from ghostart.email import (
    EVENT_EMAILS,
    TEMPLATES,
    BatchMailer,
    Recipients,
    batch_idempotency_key,
    digest_idempotency_key,
    email_idempotency_key,
    rules_for,
    send_many,
)
from ghostart.errors import InvalidInput
from ghostart.models import EmailCategory, EventName
from ghostart.ports.mailer import Email


def _known_events() -> set[str]:
    return {v for k, v in vars(EventName).items() if k.isupper()}


def test_every_rule_names_a_known_event_and_template() -> None:
    for rule in EVENT_EMAILS:
        assert rule.event in _known_events(), rule
        assert rule.template in TEMPLATES, rule
    assert len({(r.event, r.recipients, r.template) for r in EVENT_EMAILS}) == len(EVENT_EMAILS)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (EventName.CONTENT_GENERATED, [(Recipients.AUTHOR, "draft_ready", "notifications")]),
        (EventName.POST_SUBMITTED, [(Recipients.REVIEWERS, "review_requested", "notifications")]),
        (EventName.POST_FAILED, [(Recipients.AUTHOR, "publish_failed", "notifications")]),
        (EventName.MEMBER_ADDED, [(Recipients.SUBJECT, "member_added", "transactional")]),
        (EventName.BILLING_PLAN_CHANGED, [(Recipients.ADMINS, "plan_changed", "transactional")]),
        (EventName.USER_PROFILE_UPDATED, []),
        ("acme.something_else", []),
    ],
)
def test_rules_for(event: str, expected: list[tuple[Recipients, str, str]]) -> None:
    got = [(r.recipients, r.template, r.category.value) for r in rules_for(event)]
    assert got == expected


def test_only_the_digest_comes_from_the_scheduler() -> None:
    # The LinkedIn reminders are events of the LinkedIn wiring; the digest alone is scheduled.
    driven = {rule.template for rule in EVENT_EMAILS}
    assert set(TEMPLATES) - driven == {"weekly_digest"}
    assert TEMPLATES["weekly_digest"].category is EmailCategory.DIGEST
    for name in (EventName.LINKEDIN_EXPIRING, EventName.LINKEDIN_NEEDS_RECONNECT):
        assert [(r.recipients, r.template) for r in rules_for(name)] == [
            (Recipients.SUBJECT, "linkedin_reconnect")
        ]
    for name, template in (
        (EventName.BILLING_PAYMENT_FAILED, "payment_failed"),
        (EventName.BILLING_TRIAL_ENDING, "trial_ending"),
    ):
        [rule] = rules_for(name)
        assert (rule.recipients, rule.template) == (Recipients.ADMINS, template)
        assert rule.category is EmailCategory.TRANSACTIONAL


def test_email_keys_are_stable_and_distinct() -> None:
    event, user = uuid4(), uuid4()
    key = email_idempotency_key(event, "draft_ready", user)
    assert key == email_idempotency_key(event, "draft_ready", user)
    assert key != email_idempotency_key(event, "draft_ready", uuid4())
    assert key != email_idempotency_key(event, "post_approved", user)
    assert len(key) <= 255


def test_a_digest_slot_has_one_key_whatever_the_time_zone() -> None:
    user, org = uuid4(), uuid4()
    paris = datetime(2026, 11, 30, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    utc = paris.astimezone(UTC)
    assert digest_idempotency_key(user, org, paris) == digest_idempotency_key(user, org, utc)
    assert digest_idempotency_key(user, org, paris) != digest_idempotency_key(
        user, org, paris + timedelta(days=7)
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        digest_idempotency_key(user, org, datetime(2026, 11, 30, 9, 0))


def _email(key: str) -> Email:
    return Email(to=["a@example.com"], subject="s", text="t", idempotency_key=key)


class _Batching:
    max_batch = 2

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], str | None]] = []

    async def send(self, email: Email) -> str:  # pragma: no cover - send_many batches
        raise AssertionError("send_many must batch")

    async def send_batch(
        self, emails: Sequence[Email], *, idempotency_key: str | None = None
    ) -> list[str]:
        self.batches.append(([e.idempotency_key for e in emails], idempotency_key))
        return [f"id:{e.idempotency_key}" for e in emails]


async def test_send_many_batches_with_derived_keys() -> None:
    mailer = _Batching()
    assert isinstance(mailer, BatchMailer)
    emails = [_email(f"k{i}") for i in range(5)]
    ids = await send_many(mailer, emails)
    assert ids == [f"id:k{i}" for i in range(5)]
    assert [b[0] for b in mailer.batches] == [["k0", "k1"], ["k2", "k3"], ["k4"]]
    assert mailer.batches[0][1] == batch_idempotency_key(emails[:2])
    assert len({b[1] for b in mailer.batches}) == 3


async def test_send_many_falls_back_to_one_by_one() -> None:
    stream = io.StringIO()
    console = ConsoleMailer(stream=stream)
    assert not isinstance(console, BatchMailer)
    ids = await send_many(console, [_email("a"), _email("b"), _email("a")])
    assert ids == ["console:a", "console:b", "console:a"] and len(console.sent) == 2
    assert stream.getvalue().count("--- email") == 2


def test_a_batch_key_depends_on_every_key_in_order() -> None:
    a, b = _email("a"), _email("b")
    assert batch_idempotency_key([a, b]) == batch_idempotency_key([a, b])
    assert batch_idempotency_key([a, b]) != batch_idempotency_key([b, a])
    with pytest.raises(InvalidInput, match="at least one"):
        batch_idempotency_key([])
