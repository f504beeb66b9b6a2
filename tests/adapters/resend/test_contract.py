"""The Mailer contract suite, on Resend (mocked with its documented idempotency behaviour)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ghostart.ports.mailer import Mailer
from ghostart.testing.contracts.mailer import MailerContract
from ghostart_resend.mailer import ResendMailer
from ghostart_resend.testing import FakeResend


class TestResendMailerContract(MailerContract):
    @pytest.fixture
    def mailer(self, mailer: ResendMailer) -> Mailer:
        return mailer

    @pytest.fixture
    def sent_count(self, fake: FakeResend) -> Callable[[], int]:
        return lambda: len(fake.sent)
