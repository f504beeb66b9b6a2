"""The ``ghostart`` entry point: registers the store for PostgreSQL URLs."""

from __future__ import annotations

from typing import Any

from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["PACKAGE", "SCHEMES", "ghostart_register_adapters"]

PACKAGE = "ghostart-postgres"
#: ``postgresql+psycopg`` is also found through its base scheme; it is listed to be explicit.
SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")


def _store(url: AdapterURL, ctx: BuildContext) -> Any:
    # Imported here: loading the plugin (``ghostart plugins``) must not import the driver.
    from ghostart_postgres.store import PostgresStore

    return PostgresStore(url.raw)


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register :class:`~ghostart_postgres.store.PostgresStore` for the PostgreSQL schemes."""
    for scheme in SCHEMES:
        registry.add_store(
            scheme,
            _store,
            package=PACKAGE,
            description="PostgreSQL/Supabase on psycopg 3, row-level security",
        )
