"""ghostart on OpenAI: brand-voice LinkedIn drafts from OpenAI or any OpenAI-compatible endpoint.

Install ``ghostart-openai``, set a key and choose the generator::

    GHOSTART_OPENAI_API_KEY=sk-...        # or OPENAI_API_KEY
    GHOSTART_GENERATOR=openai             # or openai?model=gpt-4.1&moderation=on

The classes are importable from here; importing this package does not import the SDK until a
class is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart_openai.generator import OpenAIGenerator
    from ghostart_openai.settings import DEFAULT_PRICES, OpenAISettings, Price

__all__ = ["DEFAULT_PRICES", "OpenAIGenerator", "OpenAISettings", "Price"]

_WHERE = {
    "DEFAULT_PRICES": "ghostart_openai.settings",
    "OpenAIGenerator": "ghostart_openai.generator",
    "OpenAISettings": "ghostart_openai.settings",
    "Price": "ghostart_openai.settings",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ghostart_openai' has no attribute {name!r}")
