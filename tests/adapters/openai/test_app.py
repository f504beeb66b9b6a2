"""The generator inside a running app: drafts, usage per month, and moderation's rejections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from ghostart.app import Ghostart
from ghostart.models import GenerationStatus, PostStatus, Principal, Role
from ghostart.settings import load_settings
from ghostart.testing import EventRecorder
from ghostart_openai.testing import OPENAI_BASE_URL, chat_completion, moderation, post_json


@pytest.fixture
async def app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_key: str
) -> AsyncIterator[Ghostart]:
    """An embedded app whose generator is chosen by name, as in production."""
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    settings = load_settings(
        home=tmp_path,
        generator="openai?model=gpt-4.1-mini&moderation=on",
        reconcile_interval_seconds=0.2,
        generation_rate_limit=10_000,
    )
    application = Ghostart.from_settings(settings)
    async with application:
        yield application


async def _member(app: Ghostart) -> Principal:
    user = await app.organizations.ensure_user("ada@acme.example.com")
    _, admin = await app.organizations.create(user.id, "Acme")
    await app.brand_voices.create(admin, {"name": "House", "words_to_avoid": ["synergy"]})
    return Principal(user_id=user.id, organization_id=admin.organization_id, role=Role.ADMIN)


async def test_a_draft_comes_from_the_model_and_its_usage_is_recorded(app: Ghostart) -> None:
    member = await _member(app)
    with respx.mock(base_url=OPENAI_BASE_URL) as mock:
        chat = mock.post("/chat/completions").mock(
            return_value=httpx.Response(
                200,
                json=chat_completion(post_json(), prompt_tokens=1000, completion_tokens=250),
            )
        )
        mock.post("/moderations").mock(return_value=httpx.Response(200, json=moderation()))
        first = await app.generation.request(member, {"topic": "Onboarding engineers"})
        first = await app.generation.wait(member, first, timeout=10, poll_interval=0.05)
        second = await app.generation.request(member, {"topic": "Writing design docs"})
        second = await app.generation.wait(member, second, timeout=10, poll_interval=0.05)
    assert first.status is second.status is PostStatus.DRAFT
    assert first.ai_generated and first.body and first.body.startswith("Most hiring problems")
    assert chat.call_count == 2
    quota = await app.generation.quota(member)
    # gpt-4.1-mini defaults: (1000 x 0.40 + 250 x 1.60) / 1M = 0.0008 per draft.
    assert (quota["prompt_tokens"], quota["completion_tokens"]) == (2000, 500)
    assert Decimal(str(quota["cost_usd"])) == Decimal("0.0016")
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    async with app.store.unit_of_work() as uow:
        totals = await uow.usage.totals(member.organization_id, since=month)
    assert totals.cost_usd == Decimal("0.0016")


async def test_flagged_content_leaves_the_post_rejected_without_its_text(app: Ghostart) -> None:
    member = await _member(app)
    events = EventRecorder()
    app.plugins.register(events, name="events")
    with respx.mock(base_url=OPENAI_BASE_URL) as mock:
        chat = mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=chat_completion(post_json()))
        )
        mock.post("/moderations").mock(
            return_value=httpx.Response(200, json=moderation("harassment"))
        )
        post = await app.generation.request(member, {"topic": "Our competitor's CEO"})
        post = await app.generation.wait(member, post, timeout=10, poll_interval=0.05)
    assert post.status is PostStatus.REJECTED and post.body is None
    assert post.error == "moderation flagged the draft (harassment); it was not kept"
    assert post.review_note == post.error
    assert chat.call_count == 1  # a rejection is not retried
    assert post.generation_id is not None
    async with app.store.unit_of_work() as uow:
        generation = await uow.generations.get(post.generation_id)
        [job] = await uow.jobs.for_subject(post.generation_id)
    assert generation is not None and generation.status is GenerationStatus.FAILED
    assert generation.body is None and generation.usage.prompt_tokens == 812
    assert job.last_error and job.last_error.startswith("ContentRejected: moderation flagged")
    [failed] = [e for e in events.events if e.name == "content.failed"]
    assert failed.payload["rejected"] is True and failed.payload["categories"] == ["harassment"]
    quota = await app.generation.quota(member)
    # What the rejected attempt cost stays on its generation (812 tokens, above), out of the
    # usage ledger, which holds succeeded generations only.
    assert quota["prompt_tokens"] == 0
    # The author may write their own text: the post goes back to draft.
    edited = await app.posts.edit(member, post.id, "My own words about the market.")
    assert edited.status is PostStatus.DRAFT and edited.error is None
