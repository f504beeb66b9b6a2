"""``ghostart doctor``: the configuration and connectivity of every configured adapter, as a table.

Exit status: 0 when every check passes, 1 when one fails, 2 when the settings themselves are
wrong (nothing could be built). Secrets in URLs are shown as ``***``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from ghostart.errors import ConfigurationError
from ghostart.observability.health import Check, check_adapters

__all__ = ["doctor", "render"]


def render(checks: list[Check]) -> str:
    """The checks as a plain-text table."""
    rows = [("CHECK", "STATUS", "ADAPTER", "DETAIL")]
    rows += [(c.name, c.status.upper(), c.adapter, c.detail) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}"
        for row in rows
    )


async def _run(timeout: float) -> tuple[list[Check], str | None]:
    from ghostart.app import Ghostart
    from ghostart.settings import load_settings

    try:
        app = Ghostart.from_settings(load_settings())
    except ConfigurationError as exc:
        return [], str(exc)
    try:
        # Opening lets adapters report their own start-up problems; no worker is started and
        # only an embedded store is migrated (as ``ghostart-service`` would).
        try:
            async with asyncio.timeout(timeout):
                await app.start(worker=False)
        except ConfigurationError as exc:
            return [], str(exc)
        except Exception:  # connectivity is what the checks below report, one row each
            pass
        return await check_adapters(app, timeout=timeout), None
    finally:
        try:
            async with asyncio.timeout(timeout):
                await app.aclose()
        except Exception:
            pass


@click.command()
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=5.0,
    show_default=True,
    help="Seconds each check may take.",
)
def doctor(timeout: float) -> None:
    """Check the configuration and connectivity of every configured adapter."""
    # Adapters log their own start-up failures (with tracebacks): the table says it better.
    # With -v they are shown too.
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO
    if quiet:
        logging.disable(logging.ERROR)
    try:
        checks, config_error = asyncio.run(_run(timeout))
    finally:
        if quiet:
            logging.disable(logging.NOTSET)
    if config_error is not None:
        click.secho(f"configuration: FAILING  {config_error}", fg="red", err=True)
        sys.exit(2)
    click.echo(render(checks))
    failing = [c.name for c in checks if not c.ok]
    if failing:
        click.secho(f"\n{len(failing)} failing: {', '.join(failing)}", fg="red", err=True)
        sys.exit(1)
    click.echo("\nall checks passed")
