"""A third-party plugin as an entry point would load it: a cache on scheme ``acme``."""

from __future__ import annotations

from typing import Any

from ghostart.builtin.cache_memory import MemoryCache
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext


class AcmeCache(MemoryCache):
    """A memory cache that remembers its URL."""

    def __init__(self, url: AdapterURL) -> None:
        super().__init__()
        self.url = url


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    registry.add_cache(
        "acme", lambda url, ctx: AcmeCache(url), package="ghostart-acme", description="test"
    )
    # Overrides the built-in offline generator, as a plugin may.
    registry.add_generator("offline", _generator, package="ghostart-acme")


def _generator(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.testing import CountingGenerator

    return CountingGenerator()
