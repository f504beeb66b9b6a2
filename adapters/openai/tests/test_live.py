"""One real generation, only when ``GHOSTART_TEST_OPENAI_API_KEY`` is set (never in CI by default).

``GHOSTART_TEST_OPENAI_BASE_URL`` and ``GHOSTART_TEST_OPENAI_MODEL`` point it at another endpoint
or model. It costs a fraction of a cent on ``gpt-4.1-mini``.
"""

from __future__ import annotations

import os
from uuid import uuid4

import pytest

from ghostart.models import LINKEDIN_MAX_CHARS, BrandVoice, ContentRequest
from ghostart_openai.generator import OpenAIGenerator
from ghostart_openai.settings import OpenAISettings

KEY = os.environ.get("GHOSTART_TEST_OPENAI_API_KEY")

pytestmark = pytest.mark.skipif(not KEY, reason="set GHOSTART_TEST_OPENAI_API_KEY to run")


async def test_a_real_draft_follows_the_voice() -> None:
    settings = OpenAISettings.load(
        api_key=KEY,
        base_url=os.environ.get("GHOSTART_TEST_OPENAI_BASE_URL") or None,
        model=os.environ.get("GHOSTART_TEST_OPENAI_MODEL") or "gpt-4.1-mini",
    )
    generator = OpenAIGenerator(settings)
    voice = BrandVoice(organization_id=uuid4(), name="V", words_to_avoid=["synergy", "leverage"])
    try:
        draft = await generator.generate(voice, ContentRequest(topic="Onboarding new engineers"))
    finally:
        await generator.aclose()
    assert 0 < len(draft.body) <= LINKEDIN_MAX_CHARS
    assert "synergy" not in draft.body.lower() and draft.usage.prompt_tokens > 0
