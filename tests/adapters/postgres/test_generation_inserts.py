"""Starting or joining a generation keeps working on a pooled connection, however often.

The insert that starts a generation (or finds the live one to join) names the partial unique
index by its predicate. Bound as parameters, that predicate matches the index only while
PostgreSQL plans the prepared statement for its values: from the sixth run on one connection it
plans generically, and every insert failed ("no unique or exclusion constraint matching the ON
CONFLICT specification"), so an API process failed every new draft after its first few.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from ghostart.models import BrandVoice, ContentRequest, Generation, Organization
from tests.adapters.postgres.world import T0

pytestmark = pytest.mark.postgres


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Any]:
    from ghostart_postgres import PostgresStore

    store = PostgresStore(f"{postgres_url}?pool_size=1&max_overflow=0")  # one connection
    yield store
    await store.aclose()


async def test_generations_start_and_join_on_one_connection_past_generic_plans(
    store: Any,
) -> None:
    org = Organization(name="Acme")
    voice = BrandVoice(organization_id=org.id, name="House")
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
        await uow.brand_voices.add(voice)

    def generation(fingerprint: str) -> Generation:
        return Generation(
            organization_id=org.id,
            fingerprint=fingerprint,
            brand_voice_id=voice.id,
            brand_voice_version=voice.version,
            request=ContentRequest(topic=f"topic {fingerprint}"),
            model="offline",
            created_at=T0,
        )

    started = []
    for _ in range(15):  # well past the five custom plans
        async with store.unit_of_work() as uow:
            _, created = await uow.generations.add_or_join(generation(uuid4().hex))
        started.append(created)
    assert started == [True] * 15
    live = generation("same")
    async with store.unit_of_work() as uow:
        assert (await uow.generations.add_or_join(live))[1] is True
    for _ in range(8):
        async with store.unit_of_work() as uow:
            joined, created = await uow.generations.add_or_join(generation("same"))
        assert (joined.id, created) == (live.id, False)
