"""What one generation sends and how it reads the answer.

Structured output, the repair attempt, the fallbacks for endpoints without JSON schemas,
moderation, usage and cost, and the key.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.errors import ContentRejected, PermanentError, ProviderError
from ghostart.models import LINKEDIN_MAX_CHARS, BrandVoice, ContentRequest
from ghostart_openai.generator import OpenAIGenerator
from ghostart_openai.testing import (
    OPENAI_BASE_URL,
    chat_completion,
    error_response,
    moderation,
    post_json,
)

VOICE = BrandVoice(
    organization_id=uuid4(),
    name="House voice",
    tone="plain and warm",
    audience="engineering managers",
    words_to_avoid=["synergy", "circle back"],
)
REQUEST = ContentRequest(topic="Onboarding new engineers", call_to_action="Share your checklist")


def _ok(content: str | None = None, **kw: Any) -> httpx.Response:
    return httpx.Response(
        200, json=chat_completion(post_json() if content is None else content, **kw)
    )


def _sent(route: respx.Route, i: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[i].request.content)
    return body


# --- structured output -------------------------------------------------------------------------


async def test_asks_for_a_strict_json_schema_and_assembles_the_post(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    chat.side_effect = [
        _ok(
            post_json(
                hook="Most hiring problems are onboarding problems.",
                body="A named mentor matters.\n\nSo does a first change shipped in days.",
                hashtags=["#Hiring", "engineering culture", "hiring"],
                call_to_action="What is on your checklist?",
            )
        )
    ]
    generator = make_generator(model="gpt-4.1-mini")
    draft = await generator.generate(VOICE, REQUEST)

    sent = _sent(chat)
    assert sent["model"] == "gpt-4.1-mini"
    schema = sent["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True
    assert set(schema["json_schema"]["schema"]["required"]) == {
        "hook",
        "body",
        "hashtags",
        "call_to_action",
    }
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert "temperature" not in sent and "max_completion_tokens" not in sent
    assert draft.body == (
        "Most hiring problems are onboarding problems.\n\n"
        "A named mentor matters.\n\nSo does a first change shipped in days.\n\n"
        "What is on your checklist?\n\n"
        "#Hiring #engineeringculture"
    )
    assert draft.ai_generated and draft.model == "openai:gpt-4.1-mini@1"
    assert draft.notice and "gpt-4.1-mini-2025-04-14" in draft.notice
    assert chat.call_count == 1


async def test_sends_temperature_and_token_cap_only_when_set(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    await make_generator(temperature=0.4, max_completion_tokens=900).generate(VOICE, REQUEST)
    sent = _sent(chat)
    assert (sent["temperature"], sent["max_completion_tokens"]) == (0.4, 900)


async def test_base_url_override_sends_requests_there(
    make_generator: Callable[..., OpenAIGenerator],
) -> None:
    base = "http://vllm.internal:8000/v1"
    with respx.mock(assert_all_called=False) as mock:
        local = mock.post(f"{base}/chat/completions").mock(
            return_value=_ok(model="meta-llama/Llama-3.1-8B-Instruct")
        )
        openai_route = mock.post(f"{OPENAI_BASE_URL}/chat/completions").mock(return_value=_ok())
        generator = make_generator(base_url=base + "/", model="meta-llama/Llama-3.1-8B-Instruct")
        draft = await generator.generate(VOICE, REQUEST)
    assert local.call_count == 1 and openai_route.call_count == 0
    assert _sent(local)["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert (
        local.calls[0].request.headers["authorization"]
        == "Bearer sk-test-0123456789abcdef-DO-NOT-LEAK"
    )
    assert draft.body and draft.usage.cost_usd == 0  # no price known for a local model


async def test_a_refusal_rejects_the_content(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    chat.side_effect = [_ok(None, refusal="I'm sorry, I can't help with that request.")]
    with pytest.raises(ContentRejected, match="declined to write this post: I'm sorry"):
        await make_generator().generate(VOICE, REQUEST)
    assert chat.call_count == 1


# --- the repair attempt ------------------------------------------------------------------------

TOO_LONG = post_json(body="A sentence that goes on. " * 130)  # ~3,250 characters
AVOIDED = post_json(body="We will circle back on onboarding and its SYNERGY.")
CUT_OFF = '{"hook": "Most hiring problems", "body": "A named'


@pytest.mark.parametrize(
    ("first", "first_kw", "problem"),
    [
        pytest.param(TOO_LONG, {}, "over LinkedIn's limit of 3,000", id="too-long"),
        pytest.param(AVOIDED, {}, '["synergy", "circle back"]', id="avoided-words"),
        pytest.param(CUT_OFF, {"finish_reason": "length"}, "cut off", id="cut-off"),
        pytest.param("Sure! Here is your post.", {}, "not one JSON object", id="not-json"),
    ],
)
async def test_an_unusable_answer_gets_one_repair_attempt(
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    first: str,
    first_kw: dict[str, Any],
    problem: str,
) -> None:
    chat.side_effect = [_ok(first, **first_kw), _ok()]
    draft = await make_generator().generate(VOICE, REQUEST)
    assert chat.call_count == 2
    assert draft.body.startswith("Most hiring problems are onboarding problems in disguise.")
    repair = _sent(chat)["messages"]
    original = _sent(chat, 0)["messages"]
    assert repair[: len(original)] == original
    follow_up = repair[len(original) :]
    assert follow_up[-1]["role"] == "user" and problem in follow_up[-1]["content"]
    if first_kw.get("finish_reason") != "length":  # an answer cut off is not shown back
        assert follow_up[0] == {"role": "assistant", "content": first}
    # Both requests' tokens are counted.
    assert (draft.usage.prompt_tokens, draft.usage.completion_tokens) == (2 * 812, 2 * 164)


@pytest.mark.parametrize("answer", [TOO_LONG, AVOIDED], ids=["too-long", "avoided-words"])
async def test_a_second_unusable_answer_is_a_permanent_error(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator], answer: str
) -> None:
    chat.side_effect = [_ok(answer), _ok(answer), _ok()]
    with pytest.raises(PermanentError, match="still unusable after one repair attempt") as err:
        await make_generator().generate(VOICE, REQUEST)
    assert type(err.value) is PermanentError and chat.call_count == 2
    assert err.value.details["usage"]["prompt_tokens"] == 2 * 812


async def test_the_word_check_is_whole_words_any_case(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    # "synergyless" and "circled back" are not the listed words: no repair.
    chat.side_effect = [_ok(post_json(body="Synergyless teams circled back, then shipped."))]
    draft = await make_generator().generate(VOICE, REQUEST)
    assert chat.call_count == 1 and "circled back" in draft.body
    assert len(draft.body) <= LINKEDIN_MAX_CHARS


# --- endpoints without JSON schemas ------------------------------------------------------------


async def test_auto_falls_back_to_json_mode_and_remembers(
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat.side_effect = [error_response("json_schema_unsupported"), _ok(), _ok()]
    generator = make_generator()
    with caplog.at_level(logging.WARNING, logger="ghostart.openai"):
        draft = await generator.generate(VOICE, REQUEST)
    assert draft.body and chat.call_count == 2
    assert _sent(chat, 0)["response_format"]["type"] == "json_schema"
    assert _sent(chat, 1)["response_format"] == {"type": "json_object"}
    assert "JSON" in _sent(chat, 1)["messages"][0]["content"]  # JSON mode needs the word
    assert (
        generator.mode == "json_object" and "GHOSTART_OPENAI_STRUCTURED=json_object" in caplog.text
    )
    await generator.generate(VOICE, REQUEST)  # no second probe
    assert chat.call_count == 3 and _sent(chat)["response_format"] == {"type": "json_object"}


async def test_auto_falls_back_to_plain_text_and_reads_a_post_without_json(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    plain = (
        "Most onboarding fails in week one.\n\nGive every new engineer a mentor and a first "
        "change to ship.\n\nShare your checklist below.\n\n#Onboarding #Hiring"
    )
    chat.side_effect = [
        error_response("json_schema_unsupported"),
        error_response("json_object_unsupported"),
        _ok(plain),
    ]
    generator = make_generator()
    draft = await generator.generate(VOICE, REQUEST)
    assert chat.call_count == 3 and "response_format" not in _sent(chat)
    assert generator.mode == "text"
    assert draft.body == plain


async def test_text_mode_still_reads_json_in_a_fence(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    chat.side_effect = [_ok(f"Here you go:\n```json\n{post_json()}\n```")]
    draft = await make_generator(structured="text").generate(VOICE, REQUEST)
    assert "response_format" not in _sent(chat)
    assert draft.body.startswith("Most hiring problems are onboarding problems in disguise.")
    assert draft.body.endswith("#Hiring #Engineering")


async def test_an_explicit_mode_never_falls_back(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    chat.side_effect = [error_response("json_schema_unsupported"), _ok()]
    generator = make_generator(structured="json_schema")
    with pytest.raises(PermanentError, match="'response_format' of type 'json_schema'"):
        await generator.generate(VOICE, REQUEST)
    assert chat.call_count == 1 and generator.mode == "json_schema"


async def test_other_bad_requests_do_not_trigger_the_fallback(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    chat.side_effect = [error_response("context_length_exceeded"), _ok()]
    generator = make_generator()
    with pytest.raises(PermanentError, match="context window"):
        await generator.generate(VOICE, REQUEST)
    assert chat.call_count == 1 and generator.mode == "json_schema"


# --- moderation --------------------------------------------------------------------------------


async def test_flagged_content_is_rejected_with_its_categories(
    openai_mock: respx.MockRouter,
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
) -> None:
    moderations = openai_mock.post("/moderations").mock(
        return_value=httpx.Response(200, json=moderation("harassment", "violence"))
    )
    generator = make_generator(moderation="on", model="gpt-4o-mini")
    with pytest.raises(ContentRejected) as err:
        await generator.generate(VOICE, REQUEST)
    rejected = err.value
    assert "moderation flagged the draft (harassment, violence)" in rejected.message
    assert rejected.categories == ["harassment", "violence"]
    assert rejected.usage is not None and rejected.usage.prompt_tokens == 812
    sent = json.loads(moderations.calls[0].request.content)
    assert sent["model"] == "omni-moderation-latest"
    assert sent["input"].startswith("Most hiring problems are onboarding problems in disguise.")
    assert chat.call_count == 1


async def test_clean_content_passes_moderation(
    openai_mock: respx.MockRouter,
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
) -> None:
    moderations = openai_mock.post("/moderations").mock(
        return_value=httpx.Response(200, json=moderation())
    )
    draft = await make_generator(moderation="auto").generate(VOICE, REQUEST)  # on for OpenAI
    assert draft.body and moderations.call_count == 1


async def test_moderation_is_off_by_default_on_compatible_endpoints(
    make_generator: Callable[..., OpenAIGenerator],
) -> None:
    base = "http://localhost:11434/v1"
    with respx.mock(assert_all_called=False) as mock:
        chat = mock.post(f"{base}/chat/completions").mock(return_value=_ok())
        moderations = mock.post(f"{base}/moderations").mock(
            return_value=httpx.Response(200, json=moderation("hate"))
        )
        draft = await make_generator(base_url=base, moderation="auto").generate(VOICE, REQUEST)
    assert draft.body and chat.call_count == 1 and moderations.call_count == 0


async def test_a_moderation_outage_is_transient(
    openai_mock: respx.MockRouter,
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
) -> None:
    from ghostart.errors import TransientError

    openai_mock.post("/moderations").mock(return_value=error_response("server_error"))
    with pytest.raises(TransientError, match="moderations"):
        await make_generator(moderation="on").generate(VOICE, REQUEST)


# --- usage and cost ----------------------------------------------------------------------------


async def test_cost_comes_from_the_default_price_of_the_answering_model(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    chat.side_effect = [
        _ok(model="gpt-4o-mini-2024-07-18", prompt_tokens=1_000_000, completion_tokens=500_000)
    ]
    draft = await make_generator(model="gpt-4o-mini").generate(VOICE, REQUEST)
    # gpt-4o-mini defaults: $0.15 per 1M input, $0.60 per 1M output.
    assert draft.usage.prompt_tokens == 1_000_000 and draft.usage.completion_tokens == 500_000
    assert draft.usage.cost_usd == Decimal("0.450000")


async def test_cost_comes_from_configured_prices(
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GHOSTART_OPENAI_PRICES", '{"my-finetune": {"input": "3", "output": "12"}}')
    chat.side_effect = [_ok(model="my-finetune", prompt_tokens=1234, completion_tokens=567)]
    draft = await make_generator(model="my-finetune").generate(VOICE, REQUEST)
    # (1234 x 3 + 567 x 12) / 1M = 0.010506
    assert draft.usage.cost_usd == Decimal("0.010506")


async def test_an_unpriced_model_costs_zero_and_says_so_once(
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat.side_effect = [_ok(model="mystery-1"), _ok(model="mystery-1")]
    generator = make_generator(model="mystery-1")
    with caplog.at_level(logging.WARNING, logger="ghostart.openai"):
        first = await generator.generate(VOICE, REQUEST)
        await generator.generate(VOICE, REQUEST)
    assert first.usage.cost_usd == 0 and first.usage.prompt_tokens == 812
    assert caplog.text.count("no price for model 'mystery-1'") == 1


# --- the key -----------------------------------------------------------------------------------


async def test_the_key_never_appears_in_logs_reprs_or_errors(
    openai_mock: respx.MockRouter,
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = error_response("invalid_api_key").json()
    echo["error"]["message"] = f"Incorrect API key provided: {api_key}"
    chat.side_effect = [
        error_response("json_schema_unsupported"),
        _ok(TOO_LONG),
        _ok(),
        httpx.Response(401, json=echo, headers={"www-authenticate": f"Bearer {api_key}"}),
        error_response("rate_limit_exceeded"),
    ]
    openai_mock.post("/moderations").mock(return_value=httpx.Response(200, json=moderation()))
    caplog.set_level(logging.DEBUG)  # every logger: ghostart, openai, httpx, httpcore
    generator = make_generator(moderation="on")
    seen = [repr(generator), str(generator), repr(generator.settings)]
    await generator.generate(VOICE, REQUEST)  # fallback, repair, moderation: all logged
    for _ in range(2):
        with pytest.raises(ProviderError) as err:
            await generator.generate(VOICE, REQUEST)
        logging.getLogger("test").exception("generation failed", exc_info=err.value)
        seen += [
            str(err.value),
            repr(err.value),
            repr(err.value.details),
            "".join(traceback.format_exception(err.value)),
        ]
    assert chat.call_count == 5
    assert "Incorrect API key provided: ***" in caplog.text  # the echoed key, masked
    assert api_key not in caplog.text
    for text in seen:
        assert api_key not in text
