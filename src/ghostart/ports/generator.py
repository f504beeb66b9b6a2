"""Generator port."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ghostart.models import BrandVoice, ContentRequest, Draft

__all__ = ["Generator"]


@runtime_checkable
class Generator(Protocol):
    """Drafts a LinkedIn post in a brand voice.

    Guarantees: the draft's body is at most 3,000 characters; the same ``model`` string means the
    same behaviour (it is part of the cache key); provider failures are raised as the
    :mod:`ghostart.errors` provider taxonomy, never as an SDK's own exception; no retries of its own
    (``RetryPolicy`` retries).
    """

    #: A stable identifier of the model and prompt version, e.g. ``"openai:gpt-4.1-mini@3"``.
    model: str

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        """Write one draft."""
        ...
