"""The OpenAI generator: brand-voice drafts from OpenAI or any OpenAI-compatible endpoint.

One :meth:`OpenAIGenerator.generate` call:

1. builds the messages with :func:`ghostart.prompting.build_messages` (plugins adjust them);
2. asks for a :class:`~ghostart.prompting.PostContent` with ``chat.completions.parse`` (a strict
   JSON schema), or with JSON mode or plain text where the endpoint lacks JSON schemas;
3. assembles the post; if it is over LinkedIn's 3,000 characters, uses a word the voice avoids,
   or can not be read, asks once more, saying what to fix; a second failure is a
   :class:`~ghostart.errors.PermanentError`;
4. optionally checks the post with the moderations endpoint: flagged content is a
   :class:`~ghostart.errors.ContentRejected`, which leaves the posts ``rejected``;
5. returns the draft with the tokens of every request and their cost.

The SDK makes no retries (``max_retries=0``) and runs on an ``httpx.AsyncClient`` (injectable,
so tests see every request with respx); ghostart's ``RetryPolicy`` retries what the mapped errors
say is worth it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx
import openai
from pydantic import ValidationError

from ghostart.errors import ConfigurationError, ContentRejected, PermanentError, ProviderError
from ghostart.models import BrandVoice, ContentRequest, Draft, Usage
from ghostart.prompting import (
    PostContent,
    PromptMessage,
    build_messages,
    parse_answer,
    post_problems,
    prompt_version,
    repair_message,
)
from ghostart_openai.errors import PROVIDER, map_error
from ghostart_openai.settings import OpenAISettings, _redact, cost_usd, price_for

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

    from ghostart.plugins import PluginManager

__all__ = ["OpenAIGenerator"]

log = logging.getLogger("ghostart.openai")

Mode = Literal["json_schema", "json_object", "text"]
#: What ``structured=auto`` falls back to when the endpoint refuses a mode.
_FALLBACK: dict[Mode, Mode] = {"json_schema": "json_object", "json_object": "text"}
#: Words in a 400/422 body that mean "this endpoint or model lacks that response_format".
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output", "guided")
#: Local servers (Ollama, vLLM without --api-key) need no key, but the SDK sends one.
_NO_KEY = "not-needed"


@dataclass
class _Tally:
    """Tokens of every request of one generation, and the model the server says answered."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None

    def add(self, completion: ChatCompletion | None) -> None:
        if completion is None:
            return
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens or 0
            self.completion_tokens += completion.usage.completion_tokens or 0
        self.model = completion.model or self.model

    def add_json(self, response: Any) -> str | None:
        """Count a completion the SDK could not parse, from its JSON; returns its content."""
        try:
            body = response.json()
            usage = body.get("usage") or {}
            self.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            self.completion_tokens += int(usage.get("completion_tokens") or 0)
            self.model = str(body.get("model") or "") or self.model
            content = body["choices"][0]["message"]["content"]
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None
        return content if isinstance(content, str) and content else None


@dataclass
class _Answer:
    """One answer: the post read from it, what is wrong with it, and its text to show back."""

    post: PostContent | None
    raw: str | None
    problems: list[str] = field(default_factory=list)


class OpenAIGenerator:
    """Drafts posts with a chat model on OpenAI or an OpenAI-compatible endpoint.

    Args:
        settings: The adapter's settings (:meth:`OpenAISettings.load` reads the environment).
        http_client: The ``httpx.AsyncClient`` to send requests with; by default one is made (and
            closed by :meth:`aclose`). An injected client is not closed here.
        plugins: The app's plugin manager, for the ``ghostart_adjust_prompt`` hook.
    """

    def __init__(
        self,
        settings: OpenAISettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        plugins: PluginManager | None = None,
    ) -> None:
        self.settings = settings
        self._plugins = plugins
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if not key and settings.is_openai:
            raise ConfigurationError(
                "GHOSTART_GENERATOR=openai needs an API key: set GHOSTART_OPENAI_API_KEY "
                "(or OPENAI_API_KEY), or point GHOSTART_OPENAI_BASE_URL at a compatible "
                "endpoint that needs none"
            )
        self._secret = key
        timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
        )
        self._client = openai.AsyncOpenAI(
            api_key=key or _NO_KEY,
            base_url=settings.resolved_base_url,
            organization=settings.organization,
            project=settings.project,
            timeout=settings.timeout,
            max_retries=0,  # ghostart's RetryPolicy is the only one that retries
            # The SDK takes a legacy httpx client as well as its own httpx2 one (its type says
            # httpx2 only); respx sees this one.
            http_client=cast(Any, self._http),
        )
        self._mode: Mode = "json_schema" if settings.structured == "auto" else settings.structured
        self._unpriced_warned = False
        #: ``openai:<model>@<prompt version>``: part of the cache key of every draft.
        self.model = f"{PROVIDER}:{settings.model}@{prompt_version(plugins)}"[:200]

    def __repr__(self) -> str:
        base_url = _redact(self.settings.resolved_base_url)
        return f"OpenAIGenerator(model={self.model!r}, base_url={base_url!r})"

    @property
    def mode(self) -> Mode:
        """How the answer's shape is asked for now (``auto`` may have fallen back)."""
        return self._mode

    async def aclose(self) -> None:
        """Close the HTTP client, if this generator made it."""
        if self._owns_http:
            await self._http.aclose()

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        """Write one draft (with at most one repair request), moderated if configured."""
        messages = build_messages(voice, request, plugins=self._plugins, model=self.settings.model)
        tally = _Tally()
        answer = await self._ask(messages, voice, request, tally)
        if answer.problems:
            log.info("openai: repairing a draft: %s", "; ".join(answer.problems))
            follow_up: list[PromptMessage] = []
            if answer.raw:
                follow_up.append({"role": "assistant", "content": answer.raw})
            follow_up.append(repair_message(answer.problems))
            answer = await self._ask([*messages, *follow_up], voice, request, tally)
            if answer.problems:
                raise PermanentError(
                    "openai: the draft was still unusable after one repair attempt: "
                    + "; ".join(answer.problems),
                    provider=PROVIDER,
                    problems=answer.problems,
                    usage=self._usage(tally).model_dump(mode="json"),
                )
        if answer.post is None:  # not reached: an answer without a post lists a problem
            raise PermanentError("openai: no post could be read from the answer", provider=PROVIDER)
        body = answer.post.text()
        usage = self._usage(tally)
        if self.settings.moderation_enabled:
            await self._moderate(body, usage)
        return Draft(
            body=body,
            model=self.model,
            usage=usage,
            ai_generated=True,
            notice=f"Drafted by AI ({tally.model or self.settings.model}); review it before "
            "publishing.",
        )

    async def _ask(
        self,
        messages: list[PromptMessage],
        voice: BrandVoice,
        request: ContentRequest,
        tally: _Tally,
    ) -> _Answer:
        """One answer, falling back to a simpler mode when ``auto`` and the endpoint says so."""
        while True:
            mode = self._mode
            try:
                answer = await self._call(mode, messages, tally)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                fallback = self._fallback(mode, exc)
                if fallback is None:
                    raise self._map(exc) from exc
                log.warning(
                    "openai: %s does not take response_format %s (%s); using %s from now on. "
                    "Set GHOSTART_OPENAI_STRUCTURED=%s to skip the first try.",
                    _redact(self.settings.resolved_base_url),
                    mode,
                    exc.status_code,
                    fallback,
                    fallback,
                )
                self._mode = fallback
                continue
            except openai.OpenAIError as exc:
                raise self._map(exc) from exc
            if answer.post is not None:
                answer.problems += post_problems(answer.post.text(), voice, request)
            return answer

    def _fallback(self, mode: Mode, exc: openai.APIStatusError) -> Mode | None:
        if self.settings.structured != "auto" or mode not in _FALLBACK:
            return None
        haystack = f"{exc.message} {exc.param or ''} {exc.body!r}".lower()
        return _FALLBACK[mode] if any(w in haystack for w in _FORMAT_WORDS) else None

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.settings.temperature is not None:
            options["temperature"] = self.settings.temperature
        if self.settings.max_completion_tokens is not None:
            options["max_completion_tokens"] = self.settings.max_completion_tokens
        return options

    async def _call(self, mode: Mode, messages: list[PromptMessage], tally: _Tally) -> _Answer:
        """Send the messages once and read the answer (SDK errors propagate)."""
        sent = cast(Any, messages)
        if mode == "json_schema":
            # The raw response first, so that an answer the SDK can not parse still counts its
            # tokens and can be shown back to the model in the repair request.
            response = await self._client.chat.completions.with_raw_response.parse(
                model=self.settings.model,
                messages=sent,
                response_format=PostContent,
                **self._options(),
            )
            try:
                parsed = response.parse()
            except openai.LengthFinishReasonError as exc:
                tally.add(exc.completion)
                return _Answer(None, None, [_CUT_OFF])
            except openai.ContentFilterFinishReasonError as exc:
                tally.add(exc.completion)
                raise self._filtered() from exc
            except ValidationError:  # the endpoint did not hold the answer to the schema
                return _Answer(None, tally.add_json(response.http_response), [_UNREADABLE])
            tally.add(parsed)
            if not parsed.choices:
                return _Answer(None, None, [_EMPTY])
            message = parsed.choices[0].message
            if message.refusal:
                raise self._refused(message.refusal)
            if message.parsed is None:
                return _Answer(None, message.content, [_UNREADABLE])
            return _Answer(message.parsed, message.content or message.parsed.model_dump_json())

        extra: dict[str, Any] = {}
        if mode == "json_object":
            extra["response_format"] = {"type": "json_object"}
        completion = await self._client.chat.completions.create(
            model=self.settings.model, messages=sent, **extra, **self._options()
        )
        tally.add(completion)
        if not completion.choices:
            return _Answer(None, None, [_EMPTY])
        choice = completion.choices[0]
        if choice.finish_reason == "content_filter":
            raise self._filtered()
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise self._refused(refusal)
        content = choice.message.content or ""
        if choice.finish_reason == "length":
            return _Answer(None, None, [_CUT_OFF])
        try:
            post = parse_answer(content, allow_plain_text=mode == "text")
        except ValueError:
            return _Answer(None, content or None, [_UNREADABLE])
        return _Answer(post, content)

    async def _moderate(self, body: str, usage: Usage) -> None:
        try:
            result = await self._client.moderations.create(
                model=self.settings.moderation_model, input=body
            )
        except openai.OpenAIError as exc:
            raise self._map(
                exc, operation="moderations", model=self.settings.moderation_model
            ) from exc
        flagged = [r for r in result.results if r.flagged]
        if not flagged:
            return
        categories = sorted(
            {
                name
                for r in flagged
                for name, hit in r.categories.model_dump(by_alias=True).items()
                if hit
            }
        )
        raise ContentRejected(
            f"moderation flagged the draft ({', '.join(categories) or 'no category given'}); "
            "it was not kept",
            provider=PROVIDER,
            categories=categories,
            usage=usage,
        )

    def _refused(self, refusal: str) -> ContentRejected:
        text = " ".join(refusal.split())[:300]
        return ContentRejected(f"the model declined to write this post: {text}", provider=PROVIDER)

    def _filtered(self) -> ContentRejected:
        return ContentRejected("the provider's content filter stopped the draft", provider=PROVIDER)

    def _map(
        self,
        exc: openai.OpenAIError,
        *,
        operation: str = "chat completions",
        model: str | None = None,
    ) -> ProviderError:
        return map_error(
            exc,
            secret=self._secret,
            model=model or self.settings.model,
            base_url=_redact(self.settings.resolved_base_url),
            operation=operation,
        )

    def _usage(self, tally: _Tally) -> Usage:
        prices = self.settings.all_prices()
        price = price_for(tally.model or "", prices) or price_for(self.settings.model, prices)
        if price is None and not self._unpriced_warned:
            self._unpriced_warned = True
            log.warning(
                "openai: no price for model %r; its cost is recorded as 0. "
                "Set GHOSTART_OPENAI_PRICES or the input_price/output_price options.",
                tally.model or self.settings.model,
            )
        return Usage(
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            cost_usd=cost_usd(tally.prompt_tokens, tally.completion_tokens, price),
        )


_CUT_OFF = "the answer was cut off before it ended: write a shorter post"
_UNREADABLE = (
    "the answer was not one JSON object with the keys hook, body, hashtags and call_to_action"
)
_EMPTY = "there was no answer"
