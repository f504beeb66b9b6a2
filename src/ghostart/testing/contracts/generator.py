"""Contract suite for :class:`~ghostart.ports.generator.Generator` adapters.

Provide a ``generator`` fixture. For HTTP providers, build it against mocked responses (respx)
that follow the provider's documented shapes::

    class TestOpenAIGenerator(GeneratorContract):
        @pytest.fixture
        def generator(self, mocked_openai):
            return OpenAIGenerator(client=mocked_openai, model="gpt-4.1-mini")
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from ghostart.models import (
    LINKEDIN_MAX_CHARS,
    AuthorContext,
    BrandVoice,
    ContentRequest,
    Draft,
    PostFormat,
    PostLength,
)
from ghostart.ports.generator import Generator

__all__ = ["GeneratorContract"]


def _voice() -> BrandVoice:
    return BrandVoice(
        organization_id=uuid4(),
        name="Contract voice",
        tone="plain and friendly",
        audience="engineering managers",
        topics=["hiring", "mentoring"],
        words_to_avoid=["synergy"],
    )


class GeneratorContract:
    """Tests every Generator adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def generator(self) -> Generator:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError("subclass must provide a `generator` fixture")

    async def test_has_a_stable_model_identifier(self, generator: Generator) -> None:
        assert isinstance(generator.model, str) and generator.model.strip()
        assert generator.model == generator.model

    @pytest.mark.parametrize("fmt", list(PostFormat))
    async def test_drafts_fit_linkedin(self, generator: Generator, fmt: PostFormat) -> None:
        draft = await generator.generate(
            _voice(), ContentRequest(topic="Growing a team", format=fmt)
        )
        assert isinstance(draft, Draft)
        assert 0 < len(draft.body) <= LINKEDIN_MAX_CHARS and draft.body.strip() == draft.body
        assert draft.model

    async def test_long_request_still_fits(self, generator: Generator) -> None:
        request = ContentRequest(
            topic="x " * 240, length=PostLength.LONG, call_to_action="Tell me more " * 10
        )
        draft = await generator.generate(_voice(), request)
        assert len(draft.body) <= LINKEDIN_MAX_CHARS

    async def test_concurrent_calls_are_independent(self, generator: Generator) -> None:
        topics = [f"Lesson number {i} from ten years of hiring" for i in range(8)]
        drafts = await asyncio.gather(
            *(generator.generate(_voice(), ContentRequest(topic=t)) for t in topics)
        )
        assert len(drafts) == 8 and all(d.body for d in drafts)

    async def test_a_campaign_variant_fits_and_carries_its_link(self, generator: Generator) -> None:
        link = "https://example.com/Launch?utm_source=linkedin&utm_campaign=EU"
        author = AuthorContext(
            user_id=uuid4(),
            name="Ada",
            headline="Staff engineer, payments",
            about="I keep checkout fast.",
            past_posts=("What on-call taught me about sleep.",),
            variant=7,
        )
        request = ContentRequest(
            topic="Our EU region is live",
            format=PostFormat.ANNOUNCEMENT,
            length=PostLength.SHORT,
            goal="sign-ups for the launch webinar",
            link=link,
            author=author,
            campaign_id=uuid4(),
        )
        draft = await generator.generate(_voice(), request)
        assert 0 < len(draft.body) <= LINKEDIN_MAX_CHARS
        assert link in draft.body, "a campaign's link must reach the draft exactly as given"
