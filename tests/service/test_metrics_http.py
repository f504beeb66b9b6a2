"""GET /metrics: the named series are exposed, and they move with the traffic the test drives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ghostart.app import Ghostart
from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.models import BrandVoice, ContentRequest, DomainEvent, Draft, Usage
from ghostart.web.app import create_app
from ghostart.web.settings import load_web_settings
from tests.service.conftest import Api, Org
from tests.support import make_settings

SERIES = [
    "ghostart_http_requests",
    "ghostart_http_request_duration_seconds",
    "ghostart_jobs",
    "ghostart_job_duration_seconds",
    "ghostart_queue_depth",
    "ghostart_queue_oldest_job_age_seconds",
    "ghostart_events_oldest_undispatched_age_seconds",
    "ghostart_cache_requests",
    "ghostart_provider_call_duration_seconds",
    "ghostart_provider_errors",
    "ghostart_model_tokens",
    "ghostart_model_cost_usd",
    "ghostart_errors",
    "process_cpu_seconds",
    "process_resident_memory_bytes",
]
POSTS = "/v1/organizations/{organization_id}/posts"


class MeteredGenerator:
    """Offline drafts that report tokens and a cost, as a priced model would."""

    model = "metered@1"

    def __init__(self) -> None:
        self.inner = OfflineGenerator()

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        draft = await self.inner.generate(voice, request)
        usage = Usage(prompt_tokens=120, completion_tokens=80, cost_usd="0.0021")
        return draft.model_copy(update={"usage": usage, "model": self.model})


async def _scrape(client: httpx.AsyncClient, **headers: str) -> dict[str, dict[Any, float]]:
    answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found: dict[str, dict[Any, float]] = {}
    for family in text_string_to_metric_families(answer.text):
        samples = found.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(scraped: dict[str, dict[Any, float]], family: str, sample: str, **labels: str) -> float:
    key = (sample, tuple(sorted(labels.items())))
    return scraped.get(family, {}).get(key, 0.0)


async def test_the_named_series_are_exposed(service: Api) -> None:
    scraped = await _scrape(service.client)
    missing = [name for name in SERIES if name not in scraped]
    assert not missing, f"not exposed: {missing}"
    assert _value(scraped, "process_resident_memory_bytes", "process_resident_memory_bytes") > 0


async def test_ten_requests_move_the_counter_and_the_histogram_by_ten(
    service: Api, org: Org
) -> None:
    labels = {"method": "GET", "route": POSTS, "status": "200"}
    before = await _scrape(service.client)
    for _ in range(10):
        assert (await service.client.get(org.url("/posts"), headers=org.employee)).is_success
    after = await _scrape(service.client)

    def moved(family: str, sample: str) -> float:
        return _value(after, family, sample, **labels) - _value(before, family, sample, **labels)

    assert moved("ghostart_http_requests", "ghostart_http_requests_total") == 10
    count = "ghostart_http_request_duration_seconds_count"
    assert moved("ghostart_http_request_duration_seconds", count) == 10
    # Ids never become labels: every request was counted under the route template.
    routes = {dict(k[1]).get("route") for k in after["ghostart_http_requests"]}
    assert str(org.id) not in " ".join(r for r in routes if r)


async def test_a_generation_moves_jobs_cache_provider_and_model_series(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, generation_rate_limit=1000)
    core = Ghostart.from_settings(settings, generator=MeteredGenerator())
    api = create_app(core, web_settings=load_web_settings(home=tmp_path))
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            from tests.support import make_team

            team = await make_team(core)
            before = await _scrape(client)
            post = await core.generation.request(team.creator, ContentRequest(topic="Small PRs"))
            await core.generation.wait(team.creator, post, timeout=30)
            after = await _scrape(client)

    def moved(family: str, sample: str, **labels: str) -> float:
        return _value(after, family, sample, **labels) - _value(before, family, sample, **labels)

    assert moved("ghostart_jobs", "ghostart_jobs_total", kind="generate", outcome="done") == 1
    duration = "ghostart_job_duration_seconds_count"
    assert moved("ghostart_job_duration_seconds", duration, kind="generate", outcome="done") == 1
    assert moved("ghostart_cache_requests", "ghostart_cache_requests_total",
                 cache="generation", result="miss") == 1  # fmt: skip
    calls = "ghostart_provider_call_duration_seconds_count"
    assert moved("ghostart_provider_call_duration_seconds", calls,
                 provider="offline", operation="generator.generate", outcome="ok") == 1  # fmt: skip
    tokens = "ghostart_model_tokens_total"
    assert moved("ghostart_model_tokens", tokens, model="metered@1", type="prompt") == 120
    assert moved("ghostart_model_tokens", tokens, model="metered@1", type="completion") == 80
    cost = moved("ghostart_model_cost_usd", "ghostart_model_cost_usd_total", model="metered@1")
    assert cost == pytest.approx(0.0021)


async def test_the_event_gauge_shows_an_undispatched_event_until_it_is_dispatched(
    service: Api,
) -> None:
    gauge = "ghostart_events_oldest_undispatched_age_seconds"
    assert _value(await _scrape(service.client), gauge, gauge) == 0
    core = service.app
    late = DomainEvent(name="thing.happened", occurred_at=core.clock.now() - timedelta(minutes=5))
    async with core.store.unit_of_work() as uow:  # committed; its process "died" before dispatch
        stored = await core.context.record(uow, late)
    age = _value(await _scrape(service.client), gauge, gauge)
    assert 300 <= age < 400
    await core.context.dispatch(stored)
    assert _value(await _scrape(service.client), gauge, gauge) == 0


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    core = Ghostart.from_settings(make_settings(tmp_path))
    web = load_web_settings(home=tmp_path, metrics_token="scrape-me-please-0123")
    api = create_app(core, web_settings=web)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_a_metrics_token_restricts_the_route(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/metrics")).status_code == 401
    wrong = await guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "scrape-me" not in wrong.text
    await _scrape(guarded, Authorization="Bearer scrape-me-please-0123")


async def test_production_without_a_token_exposes_nothing(tmp_path: Path) -> None:
    core = Ghostart.from_settings(make_settings(tmp_path))
    web = load_web_settings(home=tmp_path, env="production", jwt_secret="x" * 40)
    api = create_app(core, web_settings=web)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/metrics")).status_code == 404


async def test_metrics_off_means_no_route(tmp_path: Path) -> None:
    core = Ghostart.from_settings(make_settings(tmp_path, metrics=False))
    api = create_app(core, web_settings=load_web_settings(home=tmp_path))
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/metrics")).status_code == 404
