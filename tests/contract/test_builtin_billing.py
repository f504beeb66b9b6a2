"""The embedded one-plan billing passes the Billing contract."""

from __future__ import annotations

import pytest

from ghostart.builtin.billing_none import NoBilling
from ghostart.models import Plan
from ghostart.testing.contracts.billing import BillingContract


class TestNoBilling(BillingContract):
    @pytest.fixture
    def billing(self) -> NoBilling:
        return NoBilling(Plan(name="free", monthly_generations=10))
