"""A plugin whose hook name is misspelled: loading it must fail loudly."""

from ghostart.hookspecs import hookimpl


@hookimpl
def ghostart_register_adaptors(registry: object) -> None:
    """Wrong name."""
