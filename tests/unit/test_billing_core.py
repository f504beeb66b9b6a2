"""The core's billing pieces: quota windows per billing period, stored provider state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ghostart.app import Ghostart
from ghostart.errors import ConfigurationError
from ghostart.services.billing import period_start
from ghostart.services.billing_states import StoreSubscriptionStates
from tests.billing_support import CounterState, add
from tests.support import make_team


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "now", "start"),
    [
        (None, _at(2026, 3, 17, 9), _at(2026, 3, 1)),  # no subscription: the calendar month
        (_at(2026, 1, 15, 8), _at(2026, 1, 20), _at(2026, 1, 15, 8)),
        (_at(2026, 1, 15, 8), _at(2026, 3, 15, 7), _at(2026, 2, 15, 8)),  # an hour before
        (_at(2026, 1, 15, 8), _at(2026, 3, 15, 8), _at(2026, 3, 15, 8)),  # the new window
        (_at(2026, 1, 31), _at(2026, 2, 28, 12), _at(2026, 2, 28)),  # short months clamp
        (_at(2025, 11, 30), _at(2026, 3, 1), _at(2026, 2, 28)),
        (_at(2025, 6, 10), _at(2026, 6, 9), _at(2026, 5, 10)),  # a yearly period, monthly windows
        (_at(2026, 5, 1), _at(2026, 4, 30), _at(2026, 4, 1)),  # an anchor ahead of the clock
    ],
)
def test_the_quota_window_is_the_last_monthly_anniversary_of_the_period(
    anchor: datetime | None, now: datetime, start: datetime
) -> None:
    assert period_start(anchor, now) == start


async def test_stored_states_apply_every_concurrent_change_once(app: Ghostart) -> None:
    team = await make_team(app)
    org = team.org.id
    states = StoreSubscriptionStates(app.store, app.clock)
    with pytest.raises(ConfigurationError, match="configure"):
        await states.get(org)
    states.configure(load=CounterState.load)
    await asyncio.gather(*(states.update(org, add(org, n, "cus_x")) for n in range(8)))
    final = await states.get(org)
    assert isinstance(final, CounterState) and sorted(final.changes) == list(range(8))
    assert await states.organization_for_customer("cus_x") == org
    with pytest.raises(ValueError, match="another organization"):
        await states.update(org, lambda _: CounterState(team.admin.user_id))
