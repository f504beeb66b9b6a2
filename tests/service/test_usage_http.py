"""GET .../usage: tokens and cost per month are the sums of the generations that succeeded.

Two months on an injected clock; the generator charges a different, unrounded amount per draft
(seven and more decimals), refuses one request with what it cost, and fails another.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghostart.app import Ghostart
from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.errors import ContentRejected, PermanentError
from ghostart.models import BrandVoice, ContentRequest, Draft, Usage
from ghostart.testing import ManualClock
from ghostart.web.app import create_app
from ghostart.web.settings import load_web_settings
from tests.service.conftest import Api, Org
from tests.support import make_settings

JANUARY = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
FEBRUARY = datetime(2026, 2, 3, 9, 30, tzinfo=UTC)


# A per-request fee of 37 nano-dollars: token prices alone can sum to whole micro-dollars by
# chance, the fee makes every month's total carry digits below a micro-dollar (fewer than 200
# generations cannot add up to one).
REQUEST_FEE = Decimal("0.000000037")


class PricedGenerator:
    """Offline drafts that cost what a priced model would, unrounded; some requests fail."""

    model = "priced-offline@1"

    def __init__(self) -> None:
        self.inner = OfflineGenerator()
        self.charged: list[Usage] = []

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        draft = await self.inner.generate(voice, request)
        usage = Usage(
            prompt_tokens=draft.usage.prompt_tokens,
            completion_tokens=draft.usage.completion_tokens,
            cost_usd=(
                draft.usage.prompt_tokens * Decimal("0.40")
                + draft.usage.completion_tokens * Decimal("1.60")
            )
            / 10**6
            + REQUEST_FEE,
        )
        if "refuse" in request.topic:
            raise ContentRejected("the model declined to write this post", usage=usage)
        if "fail" in request.topic:
            raise PermanentError("the provider is misconfigured")
        self.charged.append(usage)
        return draft.model_copy(update={"usage": usage})


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(JANUARY)


@pytest.fixture
async def service(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path, generation_rate_limit=1000)
    core = Ghostart.from_settings(settings, generator=PricedGenerator(), clock=clock)
    api = create_app(core, web_settings=load_web_settings(home=tmp_path))
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(api, core, client, tmp_path)


def _ledger_from_generations(home: Path, org: Org) -> dict[str, dict[str, Any]]:
    """What the succeeded generations' own rows say they cost, per month they finished in."""
    months: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"generations": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": Decimal(0)}
    )
    with sqlite3.connect(home / "ghostart.db") as db:
        rows = db.execute(
            "select usage, finished_at from generations"
            " where organization_id = ? and status = 'succeeded'",
            (org.id.hex,),
        ).fetchall()
    for usage_json, finished_at in rows:
        usage = json.loads(usage_json)
        month = months[finished_at[:7]]
        month["generations"] += 1
        month["prompt_tokens"] += usage["prompt_tokens"]
        month["completion_tokens"] += usage["completion_tokens"]
        month["cost"] += Decimal(usage["cost_usd"])
    return dict(months)


async def _ask(service: Api, org: Org, topic: str) -> str:
    made = await service.client.post(
        org.url("/content-requests?wait=10"), json={"topic": topic}, headers=org.employee
    )
    assert made.status_code in (200, 202), made.text
    return str(made.json()["status"])


async def test_tokens_and_cost_per_month_are_the_sums_of_the_succeeded_generations(
    service: Api, org: Org, clock: ManualClock
) -> None:
    generator = service.app.generator
    assert isinstance(generator, PricedGenerator)
    for topic in ("January one", "January two", "January three"):
        assert await _ask(service, org, topic) == "draft"
    assert await _ask(service, org, "Please refuse this") == "rejected"
    january_charged = list(generator.charged)

    clock.set(FEBRUARY)
    assert await _ask(service, org, "February one") == "draft"
    assert await _ask(service, org, "This will fail") == "failed"
    started = await service.client.post(
        org.url("/campaigns"),
        json={"name": "Launch", "message": "Our EU region is live"},
        headers=org.admin,
    )
    assert started.status_code == 201, started.text
    for _ in range(200):  # the campaign's three variants (admin, creator, employee)
        if len(generator.charged) == len(january_charged) + 4:
            break
        await asyncio.sleep(0.05)
    february_charged = generator.charged[len(january_charged) :]
    assert len(february_charged) == 4

    response = await service.client.get(org.url("/usage?months=3"), headers=org.admin)
    assert response.status_code == 200, response.text
    usage = response.json()
    assert [m["month"] for m in usage["months"]] == ["2025-12", "2026-01", "2026-02"]
    by_month = {m["month"]: m for m in usage["months"]}
    assert by_month["2025-12"] == {
        "month": "2025-12",
        "generations": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": "0",
    }
    recorded = _ledger_from_generations(service.home, org)
    assert set(recorded) == {"2026-01", "2026-02"}
    for month, charged in (("2026-01", january_charged), ("2026-02", february_charged)):
        shown, rows = by_month[month], recorded[month]
        assert shown["generations"] == rows["generations"] == len(charged)
        assert shown["prompt_tokens"] == rows["prompt_tokens"]
        assert shown["prompt_tokens"] == sum(u.prompt_tokens for u in charged)
        assert shown["completion_tokens"] == rows["completion_tokens"]
        assert shown["completion_tokens"] == sum(u.completion_tokens for u in charged)
        assert Decimal(shown["cost_usd"]) == rows["cost"] == sum(u.cost_usd for u in charged)
        assert rows["cost"].as_tuple().exponent < -6  # sub-micro-dollar amounts survived
    # This month at the top, as before; the refused and failed generations are nowhere in it.
    february = by_month["2026-02"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["cost_usd"]) == (
        february["prompt_tokens"],
        february["completion_tokens"],
        february["cost_usd"],
    )
    assert usage["used"] == 4  # this month's generations that did not fail


async def test_employees_see_the_quota_only_and_bad_months_are_422(service: Api, org: Org) -> None:
    assert await _ask(service, org, "Counting") == "draft"
    mine = (await service.client.get(org.url("/usage"), headers=org.employee)).json()
    assert mine == {"plan": "free", "limit": 100, "used": 1}
    default = (await service.client.get(org.url("/usage"), headers=org.creator)).json()
    assert len(default["months"]) == 12 and default["months"][-1]["month"] == "2026-01"
    for months in ("0", "37", "many", "-1"):
        bad = await service.client.get(org.url(f"/usage?months={months}"), headers=org.admin)
        assert bad.status_code == 422, (months, bad.text)
