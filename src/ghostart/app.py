"""The composition root: ``Ghostart.from_settings()`` builds every adapter and service.

Nothing connects at import or construction; ``start()`` (or ``async with``) migrates an embedded
store, and runs the worker in-process when the queue is in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ghostart.builtin.clock_system import SystemClock
from ghostart.email.scheduler import EmailScheduler
from ghostart.email.service import EmailSender, EmailService
from ghostart.errors import ConfigurationError
from ghostart.models import DomainEvent
from ghostart.observability.metrics import with_metrics
from ghostart.plugins import PluginManager
from ghostart.ports import (
    Billing,
    Broadcast,
    Cache,
    Clock,
    Generator,
    Lock,
    Mailer,
    Monitor,
    Publisher,
    Queue,
    RateLimiter,
    Store,
)
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext, Port
from ghostart.retry import RetryPolicy
from ghostart.secretbox import SecretBox
from ghostart.services.api_keys import ApiKeyService
from ghostart.services.billing import BillingService
from ghostart.services.billing_grace import GracePeriods
from ghostart.services.billing_jobs import billing_handlers
from ghostart.services.billing_states import StoreSubscriptionStates
from ghostart.services.brand_voices import BrandVoiceService
from ghostart.services.campaigns import CampaignService
from ghostart.services.context import Notifier, ServiceContext
from ghostart.services.events import EventRedelivery
from ghostart.services.generation import GenerationService
from ghostart.services.jobs import default_handlers
from ghostart.services.linkedin import LinkedInService
from ghostart.services.organizations import OrganizationService
from ghostart.services.profile import ProfileService
from ghostart.services.review import ReviewService
from ghostart.services.secrets import SecretService
from ghostart.services.usage import UsageService
from ghostart.settings import Settings, load_settings
from ghostart.worker import Worker

__all__ = ["Ghostart"]

log = logging.getLogger("ghostart")

_SETTING_OF: dict[Port, str] = {
    Port.STORE: "resolved_database_url",
    Port.CACHE: "resolved_cache_url",
    Port.LOCK: "lock_url",
    Port.QUEUE: "queue_url",
    Port.GENERATOR: "generator",
    Port.PUBLISHER: "publisher",
    Port.MAILER: "mailer",
    Port.BILLING: "billing",
    Port.MONITOR: "monitor",
    Port.RATE_LIMITER: "rate_limit_url",
}


class Ghostart:
    """The assembled application: adapters, services and (optionally) an embedded worker."""

    store: Store
    cache: Cache
    lock: Lock
    queue: Queue
    generator: Generator
    publisher: Publisher
    mailer: Mailer
    billing: Billing
    monitor: Monitor
    rate_limiter: RateLimiter
    broadcast: Broadcast

    def __init__(
        self,
        settings: Settings,
        plugins: PluginManager,
        adapters: dict[Port, Any],
        *,
        clock: Clock,
        secret_box: SecretBox,
        billing_states: StoreSubscriptionStates | None = None,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.clock = clock
        self.secret_box = secret_box
        for port, adapter in adapters.items():
            setattr(self, port.value, adapter)
        self._adapters = adapters
        self.retry = RetryPolicy(monitor=self.monitor)
        self.context = ServiceContext(
            settings=settings,
            store=self.store,
            cache=self.cache,
            queue=self.queue,
            generator=self.generator,
            publisher=self.publisher,
            billing=self.billing,
            rate_limiter=self.rate_limiter,
            monitor=self.monitor,
            clock=clock,
            retry=self.retry,
            emit=self.emit,
            deliver=self.deliver,
            notifier=Notifier(self.broadcast, monitor=self.monitor),
        )
        self.organizations = OrganizationService(self.context)
        self.profiles = ProfileService(self.context)
        self.brand_voices = BrandVoiceService(self.context)
        self.generation = GenerationService(self.context)
        self.posts = ReviewService(self.context)
        self.campaigns = CampaignService(self.context)
        self.linkedin = LinkedInService(self.context, self.organizations)
        self.usage = UsageService(self.context)
        self.secrets = SecretService(self.store, secret_box)
        self.api_keys = ApiKeyService(self.context, secret_box)
        #: The billing provider's state per organization, kept in the store (issue 8).
        self.billing_states = billing_states or StoreSubscriptionStates(self.store, clock)
        self.subscriptions = BillingService(self.context, self.billing_states)
        self.handlers = default_handlers(self.context)
        self.handlers.update(billing_handlers(self.context, self.billing_states))
        #: Email (issue 9): events to the outbox; the workers' sender and digest scheduler.
        self.email = EmailService.from_settings(self.context, self.mailer)
        self.email_sender = EmailSender(self.email)
        self.email_scheduler = EmailScheduler(self.email)
        self.worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._started = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        plugins: PluginManager | None = None,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> Ghostart:
        """Build the app from settings; ``overrides`` replace adapters by port name (tests)."""
        settings = settings or load_settings()
        plugins = plugins or PluginManager(
            allow=settings.plugins_allow, block=settings.plugins_block
        )
        unknown = set(overrides) - {p.value for p in Port}
        if unknown:
            raise ConfigurationError(f"unknown adapter override(s): {', '.join(sorted(unknown))}")
        clock = clock or SystemClock()
        registry = plugins.adapter_registry()
        adapters: dict[Port, Any] = {}
        monitor = overrides.get(Port.MONITOR.value)
        if monitor is None:
            monitor = registry.build(
                Port.MONITOR, settings.monitor, BuildContext(settings, clock, plugins=plugins)
            )
            monitor = with_metrics(monitor, settings)  # GHOSTART_METRICS (issue 10)
        adapters[Port.MONITOR] = monitor
        context = BuildContext(settings, clock, monitor, plugins)
        secret_box: SecretBox | None = None
        relay, dispatch_relay = _EventRelay(), _EventRelay()
        # The store and the rate limiter first: the adapters built after them get them, the
        # secret box and the app's ``emit`` on their BuildContext (ghostart-linkedin keeps its
        # connections in the store).
        for port in sorted(Port, key=lambda p: p not in _BUILT_FIRST):
            if port is Port.MONITOR:
                continue
            if port is Port.BILLING:  # the store is built: billing keeps its state there
                states = StoreSubscriptionStates(adapters[Port.STORE], clock)
                context = dataclasses.replace(context, billing_states=states)
            adapter = overrides.get(port.value)
            if adapter is None:
                value = (
                    cls.broadcast_url(settings, registry)
                    if port is Port.BROADCAST
                    else getattr(settings, _SETTING_OF[port])
                )
                adapter = registry.build(port, value, context)
            adapters[port] = adapter
            if secret_box is None and adapters.keys() >= _BUILT_FIRST:
                # After the store: a bad database URL is reported before missing keys.
                secret_box = _secret_box(settings)
                context = dataclasses.replace(
                    context,
                    store=adapters[Port.STORE],
                    rate_limiter=adapters[Port.RATE_LIMITER],
                    secret_box=secret_box,
                    emit=relay,
                    dispatch=dispatch_relay,
                )
        app = cls(
            settings,
            plugins,
            adapters,
            clock=clock,
            secret_box=secret_box or _secret_box(settings),
            billing_states=context.billing_states,
        )
        relay.target = app.emit
        dispatch_relay.target = app.context.dispatch
        return app

    @staticmethod
    def registry(settings: Settings | None = None) -> AdapterRegistry:
        """The adapter registry as the installed plugins fill it."""
        settings = settings or load_settings()
        return PluginManager(
            allow=settings.plugins_allow, block=settings.plugins_block
        ).adapter_registry()

    @staticmethod
    def broadcast_url(settings: Settings, registry: AdapterRegistry) -> str:
        """The broadcast to build: ``GHOSTART_BROADCAST_URL``, else a default that follows the queue.

        Processes that share a queue are those whose waiters a finished job must reach, so by
        default the broadcast is the queue's URL when the queue is shared (not ``memory``) and an
        installed adapter broadcasts on its scheme; otherwise ``memory://`` (this process only).
        """
        if settings.broadcast_url is not None:
            return settings.broadcast_url
        queue = AdapterURL.parse(settings.queue_url)
        if queue.base_scheme == "memory":
            return "memory://"
        try:
            registry.resolve(Port.BROADCAST, queue)
        except ConfigurationError:
            log.warning(
                "no broadcast adapter for the queue's scheme %r: a request waits for a job "
                "finished in another process by polling; set GHOSTART_BROADCAST_URL",
                queue.scheme,
            )
            return "memory://"
        return settings.queue_url

    @property
    def queue_in_process(self) -> bool:
        """Whether the queue lives in this process (so a worker must run here to drain it)."""
        return AdapterURL.parse(self.settings.queue_url).base_scheme == "memory"

    async def start(self, *, worker: bool | None = None) -> Self:
        """Migrate an embedded store and start the embedded worker if the queue is in-process."""
        if self._started:
            return self
        self._started = True
        if self.settings.should_auto_migrate:
            await self.store.migrate()
        for adapter in self._adapters.values():
            opener = getattr(adapter, "open", None)
            if opener is not None and asyncio.iscoroutinefunction(opener):
                await opener()
        self.context.notifier.start()
        run_worker = (
            worker
            if worker is not None
            else (self.queue_in_process and self.settings.embedded_worker)
        )
        if run_worker:
            self.start_worker()
        return self

    def start_worker(self, *, concurrency: int | None = None) -> Worker:
        """Run a worker in this process, in the background."""
        self.context.notifier.start()  # its completion signals must reach other processes
        if self.worker is None:
            requeue_after = (
                self.settings.reconcile_interval_seconds if self.queue_in_process else None
            )
            periodic: list[Callable[[], Awaitable[object]]] = [
                self.email_scheduler.tick,
                self.email_sender.send_due,
                EventRedelivery(self.context).run_once,
                GracePeriods(self.context, self.billing_states).run_once,
            ]
            # A publisher's own upkeep (ghostart-linkedin: expiry reminders, spent OAuth states).
            maintain = getattr(self.publisher, "maintain", None)
            if callable(maintain):
                periodic.append(maintain)
            self.worker = Worker(
                self.context,
                dict(self.handlers),
                concurrency=concurrency,
                requeue_after=requeue_after,
                periodic=periodic,
            )
            self._worker_task = asyncio.create_task(self.worker.run(), name="ghostart-worker")
        return self.worker

    async def wait_worker(self) -> None:
        """Wait until the embedded worker has stopped (after :meth:`Worker.stop`)."""
        if self._worker_task is not None:
            await self._worker_task

    async def stop_worker(self) -> None:
        """Stop the embedded worker, letting running jobs finish (or releasing them)."""
        if self.worker is not None and self._worker_task is not None:
            self.worker.stop()
            await self._worker_task
        self.worker, self._worker_task = None, None

    async def emit(self, event: DomainEvent) -> None:
        """Publish a domain event to every plugin's ``ghostart_handle_event``, once, now.

        For events of ghostart's own changes the services use the outbox instead
        (``ServiceContext.record`` and ``dispatch``: at least once, even across a crash).
        """
        await self.deliver(event)

    async def deliver(self, event: DomainEvent) -> list[str]:
        """Hand ``event`` to every plugin; the names of those whose handler failed."""
        self.monitor.incr("ghostart.events", name=event.name)
        return await self.plugins.emit(event, self)

    async def aclose(self) -> None:
        """Stop the worker, send its last completion signals and close every adapter."""
        await self.stop_worker()
        await self.context.notifier.aclose()
        for adapter in reversed(list(self._adapters.values())):
            closer = getattr(adapter, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_BUILT_FIRST = frozenset({Port.STORE, Port.RATE_LIMITER})


class _EventRelay:
    """An event sink for adapters built before the app: forwards to the app's once it exists."""

    def __init__(self) -> None:
        self.target: Callable[[DomainEvent], Awaitable[None]] | None = None

    async def __call__(self, event: DomainEvent) -> None:
        if self.target is None:  # only while the app is being built, when nothing emits
            log.warning("event %s emitted before the app existed: not delivered", event.name)
            return
        await self.target(event)


def _secret_box(settings: Settings) -> SecretBox:
    """The configured keys, or (embedded only) a key file created under ``home``."""
    if settings.secret_keys is not None:
        return SecretBox.from_setting(settings.secret_keys.get_secret_value())
    if not settings.resolved_database_url.startswith("sqlite"):
        raise ConfigurationError(
            "GHOSTART_SECRET_KEYS is required with a shared database; "
            "create a key with `ghostart secrets new-key`"
        )
    return SecretBox.from_setting(_local_key(settings.home / "secret.key"))


def _local_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = f"local:{SecretBox.generate_key()}"
    # Written whole to a private temporary file, then linked into place: another process sees
    # either no key file or a complete one, and the first link wins.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret.key.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(temporary)
    return value
