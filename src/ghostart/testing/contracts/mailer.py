"""Contract suite for :class:`~ghostart.ports.mailer.Mailer` adapters.

Provide a ``mailer`` fixture, and optionally ``sent_count`` returning how many messages the
provider actually accepted (for an HTTP provider: the number of mocked send calls).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from ghostart.ports.mailer import Email, Mailer

__all__ = ["MailerContract"]


def _email(key: str | None = None) -> Email:
    return Email(
        to=["person@example.com"],
        subject="Your draft is ready",
        text="Open ghostart to review it.",
        idempotency_key=key or f"email:{uuid4()}",
    )


class MailerContract:
    """Tests every Mailer adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def mailer(self) -> Mailer:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError("subclass must provide a `mailer` fixture")

    @pytest.fixture
    def sent_count(self) -> Callable[[], int]:
        """How many messages were really sent; override it in the subclass."""
        raise NotImplementedError("subclass must provide a `sent_count` fixture")

    async def test_send_returns_a_message_id(
        self, mailer: Mailer, sent_count: Callable[[], int]
    ) -> None:
        before = sent_count()
        message_id = await mailer.send(_email())
        assert isinstance(message_id, str) and message_id
        assert sent_count() == before + 1

    async def test_same_idempotency_key_sends_once(
        self, mailer: Mailer, sent_count: Callable[[], int]
    ) -> None:
        before = sent_count()
        key = f"email:{uuid4()}"
        first = await mailer.send(_email(key))
        second = await mailer.send(_email(key))
        assert first == second
        assert sent_count() == before + 1

    async def test_different_keys_send_separately(
        self, mailer: Mailer, sent_count: Callable[[], int]
    ) -> None:
        before = sent_count()
        ids = {await mailer.send(_email()) for _ in range(3)}
        assert len(ids) == 3 and sent_count() == before + 3
