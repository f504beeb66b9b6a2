"""The ``ghostart`` command."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import click

from ghostart.app import Ghostart
from ghostart.builtin.clock_system import SystemClock
from ghostart.errors import ConfigurationError, GhostartError
from ghostart.local import DEFAULT_ORGANIZATION, local_principal
from ghostart.models import Post, PostFormat, PostLength
from ghostart.observability.doctor import doctor
from ghostart.observability.logs import configure_logging
from ghostart.observability.metrics import serve_metrics
from ghostart.plugins import PluginManager
from ghostart.registry import AdapterURL, BuildContext, Port
from ghostart.secretbox import SecretBox
from ghostart.settings import load_settings

__all__ = ["main"]

T = TypeVar("T")


def _run(coro_fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Run an async command; typed errors become a message and an exit code, not a traceback."""

    @wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return asyncio.run(coro_fn(*args, **kwargs))  # type: ignore[arg-type]
        except ConfigurationError as exc:
            click.secho(f"configuration error: {exc}", fg="red", err=True)
            sys.exit(2)
        except GhostartError as exc:
            click.secho(f"error ({exc.code}): {exc}", fg="red", err=True)
            sys.exit(1)

    return wrapper


@click.group()
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """ghostart: brand-voice LinkedIn drafts, reviewed, scheduled and published."""
    level = logging.WARNING - 10 * min(verbose, 2)
    try:
        log_format = load_settings().log_format
    except ConfigurationError:  # the command itself reports bad settings
        log_format = "text"
    configure_logging(level, log_format)


@main.command()
@_run
async def plugins() -> None:
    """List the installed plugins and the adapters they provide."""
    settings = load_settings()
    manager = PluginManager(allow=settings.plugins_allow, block=settings.plugins_block)
    click.echo("Plugins:")
    for info in manager.plugins():
        version = f" {info.version}" if info.version else ""
        click.echo(f"  {info.name} ({info.source}{version})")
    registry = manager.adapter_registry()
    selected = {
        Port.STORE: settings.resolved_database_url,
        Port.CACHE: settings.resolved_cache_url,
        Port.LOCK: settings.lock_url,
        Port.QUEUE: settings.queue_url,
        Port.GENERATOR: settings.generator,
        Port.PUBLISHER: settings.publisher,
        Port.MAILER: settings.mailer,
        Port.BILLING: settings.billing,
        Port.MONITOR: settings.monitor,
        Port.RATE_LIMITER: settings.rate_limit_url,
        Port.BROADCAST: Ghostart.broadcast_url(settings, registry),
    }
    click.echo("Adapters (* = selected by the current settings):")
    entries = registry.entries()
    keys = {(e.port, e.scheme) for e in entries}
    scheme_width = max([10, *(len(e.scheme) for e in entries)])
    package_width = max([18, *(len(e.package) for e in entries)])
    for entry in entries:
        url = AdapterURL.parse(selected[entry.port])
        # The registration that serves the URL: its exact scheme first, then its base scheme.
        serving = next((s for s in (url.scheme, url.base_scheme) if (entry.port, s) in keys), None)
        mark = "*" if entry.scheme == serving else " "
        click.echo(
            f" {mark} {entry.port.value:<13} {entry.scheme:<{scheme_width}} "
            f"{entry.package:<{package_width}} {entry.description}"
        )


@main.command()
@_run
async def migrate() -> None:
    """Bring the database schema up to date."""
    # Only the store: migrating needs no secret keys, cache or queue settings.
    settings = load_settings()
    store = Ghostart.registry(settings).build(
        Port.STORE, settings.resolved_database_url, BuildContext(settings, SystemClock())
    )
    try:
        await store.migrate()
    finally:
        await store.aclose()
    click.echo("database is up to date")


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 1000), default=None, help="Jobs at once.")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve this worker's Prometheus metrics on http://HOST:PORT/metrics.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@_run
async def worker(concurrency: int | None, metrics_port: int | None, metrics_host: str) -> None:
    """Run queued jobs until SIGTERM or Ctrl-C (running jobs finish or are released)."""
    app = Ghostart.from_settings()
    if metrics_port is not None:
        serve_metrics(app.monitor, metrics_host, metrics_port)
    await app.start(worker=False)
    runner = app.start_worker(concurrency=concurrency)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop)
    click.echo(f"worker {runner.owner} running; stop with Ctrl-C", err=True)
    try:
        await app.wait_worker()
    finally:
        await app.aclose()


@main.command()
@click.option("--topic", required=True, help="What the post is about.")
@click.option(
    "--format", "format_", type=click.Choice([f.value for f in PostFormat]), default="insight"
)
@click.option("--length", type=click.Choice([x.value for x in PostLength]), default="medium")
@click.option("--cta", default=None, help="A call to action to end with.")
@click.option("--language", default="en", show_default=True)
@click.option("--org", "organization", default=DEFAULT_ORGANIZATION, show_default=True)
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait.")
@click.option("--no-wait", is_flag=True, help="Record the request and exit; a worker drafts it.")
@click.option("--json", "as_json", is_flag=True, help="Print the post as JSON.")
@_run
async def generate(
    topic: str,
    format_: str,
    length: str,
    cta: str | None,
    language: str,
    organization: str,
    timeout: float,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Draft a LinkedIn post in the organization's brand voice."""
    app = Ghostart.from_settings()
    try:
        await app.start(worker=False)
        principal, created = await local_principal(app, organization)
        if created:
            click.echo(
                f"created local organization '{organization}' with a default brand voice", err=True
            )
        request = {
            "topic": topic,
            "format": format_,
            "length": length,
            "call_to_action": cta,
            "language": language,
        }
        started = time.perf_counter()
        post = await app.generation.request(principal, request)
        if no_wait or post.status.value not in ("requested", "generating"):
            _print_post(post, as_json, time.perf_counter() - started)
            return
        if app.queue_in_process:
            app.start_worker()
        post = await app.generation.wait(
            principal, post, timeout=timeout, on_status=_progress(started)
        )
        if post.status.value in ("requested", "generating"):
            click.echo(
                f"still {post.status.value} after {timeout:.0f} s; post id {post.id}", err=True
            )
            sys.exit(3)
        _print_post(post, as_json, time.perf_counter() - started)
        if post.status.value == "failed":
            sys.exit(1)
    finally:
        await app.aclose()


def _progress(started: float) -> Callable[[Post], None]:
    def show(post: Post) -> None:
        click.echo(f"[{time.perf_counter() - started:6.2f}s] {post.status.value}", err=True)

    return show


def _print_post(post: Post, as_json: bool, elapsed: float) -> None:
    if as_json:
        click.echo(
            json.dumps(
                post.model_dump(mode="json") | {"elapsed_seconds": round(elapsed, 3)}, indent=2
            )
        )
        return
    if post.body:
        click.echo(post.body)
        click.echo("")
    source = "cache" if post.from_cache else ("generated" if post.body else post.status.value)
    click.echo(
        f"source: {source} | status: {post.status.value} | post {post.id} | {elapsed:.2f} s",
        err=True,
    )
    if post.notice:
        click.echo(f"note: {post.notice}", err=True)
    if post.error:
        click.echo(f"error: {post.error}", err=True)


@main.group()
def secrets() -> None:
    """Encryption keys for values kept at rest."""


@secrets.command("new-key")
@click.option("--id", "key_id", default=None, help="Key id (default: k<unix time>).")
def new_key(key_id: str | None) -> None:
    """Print a new key entry to put first in GHOSTART_SECRET_KEYS."""
    click.echo(f"{key_id or f'k{int(time.time())}'}:{SecretBox.generate_key()}")


@secrets.command()
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--max-batches", type=click.IntRange(1), default=None, help="Stop after this many.")
@_run
async def rotate(batch_size: int, max_batches: int | None) -> None:
    """Re-encrypt every stored secret (and LinkedIn token) under the primary key (re-runnable)."""
    app = Ghostart.from_settings()
    linkedin: dict[str, int] | None = None
    try:
        await app.start(worker=False)
        report = await app.secrets.rotate_all(batch_size=batch_size, max_batches=max_batches)
        rotate_tokens = getattr(app.publisher, "rotate_tokens", None)  # ghostart-linkedin
        if rotate_tokens is not None:
            linkedin = await rotate_tokens(batch_size=batch_size)
    finally:
        await app.aclose()
    result = dataclasses.asdict(report) | ({"linkedin": linkedin} if linkedin is not None else {})
    click.echo(json.dumps(result, default=str))


@main.group()
def email() -> None:
    """Email templates: list them, preview one with sample data."""


@email.command("templates")
def email_templates() -> None:
    """List the email templates with their category."""
    from ghostart.email import TEMPLATES

    for name in sorted(TEMPLATES):
        spec = TEMPLATES[name]
        click.echo(f"{name:<22} {spec.category.value:<14} {spec.description}")


@email.command("preview")
@click.argument("name")
@click.option(
    "--part", type=click.Choice(["all", "text", "html"]), default="all", show_default=True
)
def email_preview(name: str, part: str) -> None:
    """Render the template NAME with its sample data (nothing is sent)."""
    from ghostart.email import EmailRenderer

    try:
        rendered = EmailRenderer().preview(name)
    except GhostartError as exc:
        click.secho(f"error ({exc.code}): {exc}", fg="red", err=True)
        sys.exit(1)
    if part == "all":
        click.echo(f"Subject: {rendered.subject}\nCategory: {rendered.category.value}\n")
    if part in ("all", "text"):
        click.echo(rendered.text)
    if part in ("all", "html"):
        click.echo(rendered.html)


#: Development user ids are derived from the email, so a newcomer stays the same user.
_DEV_USERS = uuid.UUID("9b1d3f5e-2c47-4d8a-b6e0-6f0a1c2d3e4f")


@main.command()
@click.option("--email", required=True, help="The development user's email.")
@click.option("--ttl", type=click.IntRange(60, 7 * 24 * 3600), default=8 * 3600, show_default=True)
def token(email: str, ttl: int) -> None:
    """Print a development JWT for the local service (refused with a JWKS or in production)."""
    try:
        from ghostart.web.jwt import mint_dev_token
        from ghostart.web.settings import Environment, load_web_settings, local_jwt_secret
    except ImportError:
        click.secho("ghostart token needs the web extra: pip install 'ghostart[fastapi]'", err=True)
        sys.exit(2)
    try:
        settings = load_settings()
        web = load_web_settings(home=settings.home)
    except ConfigurationError as exc:
        click.secho(f"configuration error: {exc}", fg="red", err=True)
        sys.exit(2)
    if web.env is Environment.PRODUCTION or web.jwt_jwks_url:
        click.secho(
            "refused: tokens come from your identity provider when GHOSTART_JWT_JWKS_URL or "
            "GHOSTART_ENV=production is set",
            fg="red",
            err=True,
        )
        sys.exit(2)
    if web.jwt_secret is not None and not any(a.startswith("HS") for a in web.algorithms):
        click.secho("refused: GHOSTART_JWT_ALGORITHMS does not allow HS256", fg="red", err=True)
        sys.exit(2)
    secret = (
        web.jwt_secret.get_secret_value() if web.jwt_secret else local_jwt_secret(settings.home)
    )
    user_id = uuid.uuid5(_DEV_USERS, email.strip().lower())
    click.echo(
        mint_dev_token(
            secret,
            user_id,
            email=email.strip(),
            audience=web.jwt_audience,
            issuer=web.jwt_issuer,
            ttl_seconds=ttl,
        )
    )


main.add_command(doctor)
