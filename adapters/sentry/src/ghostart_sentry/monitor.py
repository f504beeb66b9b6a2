"""``SentryMonitor``: the Monitor port on sentry-sdk, as a library uses it.

It never calls ``sentry_sdk.init`` (that replaces the process's client: the application's
job, see :func:`ghostart_sentry.sentry_options`). Each error is captured in a scope of its
own (``new_scope``) with tags for what it concerns:

- ``organization`` (from ``organization_id``), ``job`` (from ``job_id``, or the job the task
  runs), ``provider`` (from ``provider``/``adapter``, the exception's provider, or the port of
  ``operation``), ``operation``, ``kind``, ``request_id`` (the request the work came from);
- any other context goes, scrubbed, into the event's ``ghostart`` context.

Spans: a job runs in a transaction of its own, in an isolation scope tagged with its
organization and job (so that anything captured while it runs carries them); a provider call
is a span of the current transaction, tagged with its provider. Counters and measurements go to
the ``delegate`` monitor (the logging one by default; Prometheus gets them from the
composition root), retries and gave-ups also become breadcrumbs.

With no client initialised, every call is a no-op in Sentry and still reaches the delegate.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import sentry_sdk

from ghostart.builtin.monitor_logging import LoggingMonitor
from ghostart.observability.correlation import current_job_id, current_request_id
from ghostart.ports import Monitor
from ghostart_sentry.scrub import Scrubber

__all__ = ["SentryMonitor"]

log = logging.getLogger("ghostart.sentry")

#: Context keys that become tags, by tag name.
_TAGS = {
    "organization_id": "organization",
    "organization": "organization",
    "job_id": "job",
    "job": "job",
    "provider": "provider",
    "adapter": "provider",
    "operation": "operation",
    "kind": "kind",
    "event": "event",
    "plugin": "plugin",
}
_BREADCRUMB_METRICS = ("ghostart.retry", "ghostart.jobs.retry", "ghostart.jobs.failed")
#: The scrubbers of the live monitors; one global event processor applies them all.
_scrubbers: weakref.WeakSet[Scrubber] = weakref.WeakSet()
_processor_installed = False


def _scrub_with_every_monitor(event: Any, hint: Any) -> Any:
    for scrubber in list(_scrubbers):
        event = scrubber.event(event, hint)
        if event is None:
            return None
    return event


class SentryMonitor:
    """Errors, spans and breadcrumbs to Sentry; counters and measurements to ``delegate``.

    Args:
        providers: The adapter serving each port (``{"generator": "openai"}``): the
            ``provider`` tag of an operation named ``generator.generate``.
        delegate: Where counters and measurements go (default: a
            :class:`~ghostart.builtin.monitor_logging.LoggingMonitor`); errors go there too,
            so that logs keep them.
        scrubber: The scrubber added to Sentry's global scope as an event processor (once per
            process), in case the application initialised Sentry without
            :func:`~ghostart_sentry.sentry_options`.
        breadcrumbs: Whether retries and job failures leave breadcrumbs.
    """

    def __init__(
        self,
        *,
        providers: dict[str, str] | None = None,
        delegate: Monitor | None = None,
        scrubber: Scrubber | None = None,
        breadcrumbs: bool = True,
    ) -> None:
        self.providers = dict(providers or {})
        self.delegate: Monitor = delegate if delegate is not None else LoggingMonitor()
        self.scrubber = scrubber or Scrubber()
        self.breadcrumbs = breadcrumbs
        self._install(self.scrubber)
        if not sentry_sdk.get_client().is_active():
            log.info(
                "GHOSTART_MONITOR=sentry, but Sentry is not initialised: errors are logged only "
                "(call sentry_sdk.init(dsn=..., **ghostart_sentry.sentry_options()) at start-up)"
            )

    @staticmethod
    def _install(scrubber: Scrubber) -> None:
        _scrubbers.add(scrubber)
        global _processor_installed
        if not _processor_installed:
            _processor_installed = True
            sentry_sdk.get_global_scope().add_event_processor(_scrub_with_every_monitor)

    def __getattr__(self, name: str) -> Any:
        # ``counters`` and ``observations`` of the logging delegate, for tests and health.
        if name in ("counters", "observations"):
            return getattr(self.delegate, name)
        raise AttributeError(name)

    def provider(self, operation: str) -> str | None:
        """The provider behind an operation name (``generator.generate`` -> ``openai``)."""
        port = operation.partition(".")[0]
        return self.providers.get(port) if port else None

    def tags(self, exc: BaseException | None, context: dict[str, Any]) -> dict[str, str]:
        """The tags of an event about ``exc`` with ``context``."""
        tags: dict[str, str] = {}
        for key, value in context.items():
            tag = _TAGS.get(key)
            if tag is not None and value not in (None, ""):
                tags.setdefault(tag, str(value))
        job = current_job_id()
        if job and "job" not in tags:
            tags["job"] = job
        request_id = current_request_id()
        if request_id:
            tags["request_id"] = request_id
        if "provider" not in tags:
            provider = getattr(exc, "provider", None) or self.provider(tags.get("operation", ""))
            if provider:
                tags["provider"] = str(provider)
        return {k: self.scrubber.text(v)[:200] for k, v in tags.items()}

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Capture ``exc`` in a scope of its own, tagged; never raises."""
        with suppress(Exception):
            self.delegate.capture_exception(exc, **context)
        try:
            with sentry_sdk.new_scope() as scope:
                for key, value in self.tags(exc, context).items():
                    scope.set_tag(key, value)
                rest = {k: v for k, v in context.items() if k not in _TAGS}
                if rest:
                    scope.set_context("ghostart", self.scrubber.value(_jsonable(rest)))
                scope.capture_exception(exc)
        except Exception:  # the Monitor's promise: never raises
            log.exception("sentry: could not capture %s", type(exc).__name__)

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Add to the delegate's counter; retries and job failures leave a breadcrumb."""
        self.delegate.incr(metric, value, **tags)
        if self.breadcrumbs and metric.startswith(_BREADCRUMB_METRICS):
            with suppress(Exception):
                sentry_sdk.add_breadcrumb(
                    category="ghostart", message=metric, data=dict(tags), level="warning"
                )

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Record in the delegate."""
        self.delegate.observe(metric, value, **tags)

    def span(self, op: str, description: str, **tags: str) -> AbstractContextManager[None]:
        """A transaction for a job (``op="job"``), else a span of the current transaction."""
        if op == "job":
            return self._job(description, tags)
        return self._span(op, description, tags)

    @contextmanager
    def _job(self, kind: str, tags: dict[str, str]) -> Iterator[None]:
        with sentry_sdk.isolation_scope() as scope:
            organization, job = tags.get("organization_id"), tags.get("job_id")
            if organization:
                scope.set_tag("organization", organization)
            if job:
                scope.set_tag("job", job)
            scope.set_tag("kind", kind)
            request_id = current_request_id()
            if request_id:
                scope.set_tag("request_id", request_id)
            with sentry_sdk.start_transaction(op="job", name=f"job {kind}") as transaction:
                for key, value in tags.items():
                    if value:
                        transaction.set_tag(_TAGS.get(key, key), value)
                try:
                    yield
                except BaseException:
                    transaction.set_status("internal_error")
                    raise

    @contextmanager
    def _span(self, op: str, description: str, tags: dict[str, str]) -> Iterator[None]:
        with sentry_sdk.start_span(op=op, name=description) as span:
            provider = self.provider(tags.get("operation", description))
            if provider:
                span.set_tag("provider", provider)
            for key, value in tags.items():
                span.set_tag(_TAGS.get(key, key), value)
            try:
                yield
            except BaseException:
                span.set_status("internal_error")
                raise


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
