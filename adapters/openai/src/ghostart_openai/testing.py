"""OpenAI's documented response and error shapes, for tests with respx (no network, no key).

``respx`` comes with ``ghostart[test]``; this module is for tests only::

    with respx.mock(base_url=OPENAI_BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=chat_completion(post_json()))
        )
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ghostart_openai.settings import OPENAI_BASE_URL

__all__ = [
    "DOCUMENTED_ERRORS",
    "OPENAI_BASE_URL",
    "chat_completion",
    "error_body",
    "error_response",
    "moderation",
    "post_json",
]


def post_json(
    hook: str = "Most hiring problems are onboarding problems in disguise.",
    body: str = (
        "When a new engineer struggles, we tend to blame the hire.\n\n"
        "In my experience the first two weeks decide more than the interview did: a named "
        "mentor, a small first change shipped in days, and a clear picture of who to ask."
    ),
    hashtags: list[str] | None = None,
    call_to_action: str | None = "What did your best first week look like?",
) -> str:
    """A model's structured answer, as the message ``content`` carries it."""
    return json.dumps(
        {
            "hook": hook,
            "body": body,
            "hashtags": ["Hiring", "Engineering"] if hashtags is None else hashtags,
            "call_to_action": call_to_action,
        }
    )


def chat_completion(
    content: str | None,
    *,
    model: str = "gpt-4.1-mini-2025-04-14",
    prompt_tokens: int = 812,
    completion_tokens: int = 164,
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` object (``POST /chat/completions``)."""
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def moderation(*flagged_categories: str) -> dict[str, Any]:
    """A moderation object (``POST /moderations``), flagged in ``flagged_categories`` if any."""
    unknown = set(flagged_categories) - set(_CATEGORIES)
    if unknown:
        raise ValueError(f"unknown moderation categories: {sorted(unknown)}")
    return {
        "id": "modr-0d9740456c391e43c445bf0f010940c7",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": bool(flagged_categories),
                "categories": {c: c in flagged_categories for c in _CATEGORIES},
                "category_scores": {
                    c: 0.91 if c in flagged_categories else 0.0001 for c in _CATEGORIES
                },
                "category_applied_input_types": {c: ["text"] for c in _CATEGORIES},
            }
        ],
    }


def error_body(
    message: str, type_: str | None, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


#: Errors as OpenAI documents them (guides/error-codes): status, body, headers.
DOCUMENTED_ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "invalid_api_key": (
        401,
        error_body(
            "Incorrect API key provided: sk-proj-********************WXYZ. You can find your "
            "API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            code="invalid_api_key",
        ),
        {},
    ),
    "unsupported_country": (
        403,
        error_body(
            "Country, region, or territory not supported",
            "request_forbidden",
            code="unsupported_country_region_territory",
        ),
        {},
    ),
    "model_not_found": (
        404,
        error_body(
            "The model `gpt-9-turbo` does not exist or you do not have access to it.",
            "invalid_request_error",
            code="model_not_found",
        ),
        {},
    ),
    "context_length_exceeded": (
        400,
        error_body(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            param="messages",
            code="context_length_exceeded",
        ),
        {},
    ),
    "invalid_request": (
        400,
        error_body(
            "Invalid value for 'temperature': must be between 0 and 2.",
            "invalid_request_error",
            param="temperature",
            code="invalid_value",
        ),
        {},
    ),
    "rate_limit_exceeded": (
        429,
        error_body(
            "Rate limit reached for gpt-4.1-mini in organization org-abc on tokens per min "
            "(TPM): Limit 200000, Used 199500, Requested 1200. Please try again in 210ms.",
            "tokens",
            code="rate_limit_exceeded",
        ),
        {
            "retry-after-ms": "210",
            "retry-after": "1",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "210ms",
        },
    ),
    "insufficient_quota": (
        429,
        error_body(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            code="insufficient_quota",
        ),
        {},
    ),
    "server_error": (
        500,
        error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        ),
        {},
    ),
    "overloaded": (
        503,
        error_body("The engine is currently overloaded, please try again later.", "server_error"),
        {},
    ),
    "json_schema_unsupported": (
        400,
        error_body(
            "Invalid parameter: 'response_format' of type 'json_schema' is not supported with "
            "this model. Learn more about supported models at the Structured Outputs guide: "
            "https://platform.openai.com/docs/guides/structured-outputs",
            "invalid_request_error",
            param="response_format",
        ),
        {},
    ),
    "json_object_unsupported": (
        400,
        error_body(
            "Invalid parameter: 'response_format' of type 'json_object' is not supported with "
            "this model.",
            "invalid_request_error",
            param="response_format",
        ),
        {},
    ),
    "azure_content_filter": (
        400,
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure "
                "OpenAI's content management policy. Please modify your prompt and retry.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {"violence": {"filtered": True, "severity": "high"}},
                },
            }
        },
        {},
    ),
}


def error_response(name: str, **headers: str) -> httpx.Response:
    """The documented error ``name`` as an HTTP response (with ``x-request-id``)."""
    status, body, documented = DOCUMENTED_ERRORS[name]
    return httpx.Response(
        status,
        json=body,
        headers={"x-request-id": "req_4d8a3c2b1e0f"} | documented | headers,
    )
