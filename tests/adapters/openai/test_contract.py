"""The OpenAI generator passes the Generator contract against respx-served OpenAI responses."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.models import BrandVoice, ContentRequest
from ghostart.testing.contracts.generator import GeneratorContract
from ghostart_openai.generator import OpenAIGenerator
from ghostart_openai.testing import chat_completion, moderation, post_json


def _request_of(request: httpx.Request) -> dict[str, str]:
    """The <request> data block of the request's user message."""
    messages = json.loads(request.content)["messages"]
    block = re.search(r"<request>\n(.*?)\n</request>", messages[1]["content"], re.DOTALL)
    assert block is not None, "the user message has no <request> block"
    data: dict[str, str] = json.loads(block.group(1))
    return data


def _answer_about_the_topic(request: httpx.Request) -> httpx.Response:
    """A model that writes about the request's topic and, when asked to, includes its link."""
    asked = _request_of(request)
    topic = " ".join(asked["topic"].split())[:200]
    link = asked.get("link")
    return httpx.Response(
        200,
        json=chat_completion(
            post_json(
                hook=f"What I learned about {topic}.",
                body="Three short paragraphs.",
                call_to_action=f"Read more: {link}" if link else None,
            )
        ),
    )


class TestOpenAIGenerator(GeneratorContract):
    @pytest.fixture
    def generator(
        self, openai_mock: respx.MockRouter, make_generator: Callable[..., OpenAIGenerator]
    ) -> OpenAIGenerator:
        openai_mock.post("/chat/completions").mock(side_effect=_answer_about_the_topic)
        openai_mock.post("/moderations").mock(return_value=httpx.Response(200, json=moderation()))
        return make_generator(moderation="on")


async def test_concurrent_drafts_each_answer_their_own_request(
    openai_mock: respx.MockRouter, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    route = openai_mock.post("/chat/completions").mock(side_effect=_answer_about_the_topic)
    generator = make_generator()
    voice = BrandVoice(organization_id=uuid4(), name="V")
    topics = [f"lesson {i} from ten years of hiring" for i in range(8)]
    drafts = await asyncio.gather(
        *(generator.generate(voice, ContentRequest(topic=t)) for t in topics)
    )
    assert route.call_count == 8
    assert [d.body.splitlines()[0] for d in drafts] == [
        f"What I learned about {t}." for t in topics
    ]
