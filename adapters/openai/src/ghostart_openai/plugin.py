"""The plugin: registers the OpenAI generator for ``GHOSTART_GENERATOR=openai``.

The factory imports the SDK only when called, so that loading the plugin (``ghostart plugins``,
every app start) costs nothing when another generator is configured.
"""

from __future__ import annotations

from typing import Any

from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["PACKAGE", "ghostart_register_adapters"]

PACKAGE = "ghostart-openai"


def _generator(url: AdapterURL, ctx: BuildContext) -> Any:
    try:
        from ghostart_openai.generator import OpenAIGenerator
    except ImportError as exc:  # the SDK is a dependency, but an environment may be broken
        raise ConfigurationError(
            f"GHOSTART_GENERATOR={url} needs the openai SDK: pip install {PACKAGE} ({exc})"
        ) from exc
    from ghostart_openai.settings import OpenAISettings

    return OpenAIGenerator(OpenAISettings.from_url(url), plugins=ctx.plugins)


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the generator for ``openai`` (OpenAI and OpenAI-compatible endpoints)."""
    registry.add_generator(
        "openai",
        _generator,
        package=PACKAGE,
        description="OpenAI or a compatible endpoint (Azure OpenAI, vLLM, Ollama)",
    )
