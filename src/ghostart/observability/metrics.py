"""Prometheus metrics from the Monitor port's counters and measurements (``ghostart[metrics]``).

Core code reports through the Monitor (``incr``/``observe`` with a metric name and tags);
:class:`PrometheusMetrics` is a Monitor that turns the names it knows into Prometheus series
with bounded labels (route templates, job kinds, providers: never ids), and
:class:`ObservedMonitor` sends everything to the configured monitor (logging, Sentry) *and*
to the metrics. The composition root wraps the configured monitor with :func:`with_metrics`.

Series (all prefixed ``ghostart_``):

- ``http_requests_total``, ``http_request_duration_seconds`` by method, route template, status
- ``jobs_total`` by kind and outcome (done, retry, failed); ``job_duration_seconds`` by kind, outcome
- ``queue_depth``, ``queue_oldest_job_age_seconds`` (refreshed when scraped)
- ``events_oldest_undispatched_age_seconds`` (refreshed when scraped)
- ``cache_requests_total`` by cache and result (hit, miss): the hit ratio is a PromQL division
- ``provider_call_duration_seconds`` by provider, operation, outcome; ``provider_errors_total``
  by provider, operation, error, final
- ``model_tokens_total`` by model and type (prompt, completion); ``model_cost_usd_total`` by model
- ``errors_total`` by type; ``events_total`` by domain event; ``monitor_counter_total`` by
  metric for any other counter (tags dropped, so that no label grows without bound)
- ``process_*`` (CPU seconds, resident memory, open files) and ``python_*`` from the default
  collectors
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from ghostart.errors import ConfigurationError
from ghostart.observability.correlation import bind_job

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from ghostart.models import Job, Usage
    from ghostart.ports import Monitor
    from ghostart.settings import Settings

__all__ = [
    "ObservedMonitor",
    "PrometheusMetrics",
    "find_metrics",
    "job_run",
    "record_model_usage",
    "serve_metrics",
    "span",
    "with_metrics",
]

log = logging.getLogger("ghostart.metrics")

_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_JOB_OUTCOMES = {"ghostart.jobs.done": "done", "ghostart.jobs.retry": "retry"}
#: The ports whose calls go through the RetryPolicy, by the prefix of the operation name.
_PROVIDER_PORTS = ("generator", "publisher", "mailer", "billing")


def _import_prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ConfigurationError(
            "metrics need prometheus-client: pip install 'ghostart[metrics]' "
            "(or set GHOSTART_METRICS=false)"
        ) from exc
    return prometheus_client


class PrometheusMetrics:
    """A Monitor whose counters and measurements become Prometheus series in its own registry.

    ``providers`` names the adapter serving each port (``{"generator": "openai"}``), so that a
    provider call reported as operation ``generator.generate`` is labelled ``provider="openai"``.
    """

    def __init__(
        self,
        *,
        providers: dict[str, str] | None = None,
        registry: CollectorRegistry | None = None,
        process: bool = True,
    ) -> None:
        pc = _import_prometheus()
        self.registry: CollectorRegistry = registry or pc.CollectorRegistry()
        if process:
            pc.ProcessCollector(registry=self.registry)
            pc.PlatformCollector(registry=self.registry)
            pc.GCCollector(registry=self.registry)
        self.providers = dict(providers or {})
        r = self.registry
        http = ("method", "route", "status")
        self.http_requests = pc.Counter(
            "ghostart_http_requests", "HTTP requests answered.", http, registry=r
        )
        self.http_seconds = pc.Histogram(
            "ghostart_http_request_duration_seconds",
            "HTTP request latency.",
            http,
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.jobs = pc.Counter(
            "ghostart_jobs", "Job runs by outcome.", ("kind", "outcome"), registry=r
        )
        self.job_seconds = pc.Histogram(
            "ghostart_job_duration_seconds",
            "Time a worker spent running a job.",
            ("kind", "outcome"),
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.queue_depth = pc.Gauge(
            "ghostart_queue_depth", "Jobs waiting in the queue (as the queue reports).", registry=r
        )
        self.queue_oldest = pc.Gauge(
            "ghostart_queue_oldest_job_age_seconds",
            "Age of the oldest job that is due and not finished (0 if none).",
            registry=r,
        )
        self.events_oldest = pc.Gauge(
            "ghostart_events_oldest_undispatched_age_seconds",
            "Age of the oldest domain event not yet dispatched to the plugins (0 if none).",
            registry=r,
        )
        self.cache = pc.Counter(
            "ghostart_cache_requests", "Cache lookups by result.", ("cache", "result"), registry=r
        )
        self.provider_seconds = pc.Histogram(
            "ghostart_provider_call_duration_seconds",
            "Latency of calls to providers (each attempt).",
            ("provider", "operation", "outcome"),
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.provider_errors = pc.Counter(
            "ghostart_provider_errors",
            "Failed provider calls; final=true when the retry policy gave up.",
            ("provider", "operation", "error", "final"),
            registry=r,
        )
        self.tokens = pc.Counter(
            "ghostart_model_tokens", "Model tokens used.", ("model", "type"), registry=r
        )
        self.cost = pc.Counter(
            "ghostart_model_cost_usd", "Model cost in US dollars.", ("model",), registry=r
        )
        self.errors = pc.Counter(
            "ghostart_errors", "Errors reported to the monitor.", ("type",), registry=r
        )
        self.events = pc.Counter("ghostart_events", "Domain events emitted.", ("name",), registry=r)
        self.other = pc.Counter(
            "ghostart_monitor_counter", "Other monitor counters.", ("metric",), registry=r
        )

    def provider(self, operation: str) -> str:
        """The provider behind an operation name (``generator.generate`` -> ``openai``)."""
        port = operation.partition(".")[0]
        return self.providers.get(port, port or "unknown")

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Count the error by type."""
        self.errors.labels(type(exc).__name__).inc()

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Add to the series the metric maps to."""
        if metric == "ghostart.http.requests":
            self.http_requests.labels(
                tags.get("method", ""), tags.get("route", ""), tags.get("status", "")
            ).inc(value)
        elif metric in _JOB_OUTCOMES:
            self.jobs.labels(tags.get("kind", ""), _JOB_OUTCOMES[metric]).inc(value)
        elif metric == "ghostart.jobs.failed":
            self.jobs.labels(tags.get("kind", ""), "failed").inc(value)
        elif metric == "ghostart.generation.cache":
            self.cache.labels("generation", tags.get("result", "")).inc(value)
        elif metric in ("ghostart.retry", "ghostart.retry.gave_up"):
            operation = tags.get("operation", "")
            self.provider_errors.labels(
                self.provider(operation),
                operation,
                tags.get("error", ""),
                str(metric.endswith("gave_up")).lower(),
            ).inc(value)
        elif metric == "ghostart.generation.tokens":
            self.tokens.labels(tags.get("model", ""), tags.get("type", "")).inc(value)
        elif metric == "ghostart.generation.cost_usd":
            self.cost.labels(tags.get("model", "")).inc(value)
        elif metric == "ghostart.events":
            self.events.labels(tags.get("name", "")).inc(value)
        else:
            self.other.labels(metric).inc(value)

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Record into the histogram the metric maps to (others are not kept)."""
        if metric == "ghostart.http.seconds":
            self.http_seconds.labels(
                tags.get("method", ""), tags.get("route", ""), tags.get("status", "")
            ).observe(value)
        elif metric == "ghostart.jobs.seconds":
            self.job_seconds.labels(tags.get("kind", ""), tags.get("outcome", "")).observe(value)
        elif metric == "ghostart.provider.seconds":
            operation = tags.get("operation", "")
            self.provider_seconds.labels(
                self.provider(operation), operation, tags.get("outcome", "")
            ).observe(value)

    def set_queue(self, *, depth: int | None, oldest_age: float) -> None:
        """Set the queue gauges (called before each scrape)."""
        if depth is not None:
            self.queue_depth.set(depth)
        self.queue_oldest.set(max(0.0, oldest_age))

    def set_events(self, *, oldest_age: float) -> None:
        """Set the event outbox gauge (called before each scrape)."""
        self.events_oldest.set(max(0.0, oldest_age))

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus's text format, with its content type."""
        pc = _import_prometheus()
        return pc.generate_latest(self.registry), pc.CONTENT_TYPE_LATEST


class ObservedMonitor:
    """Sends every report to the configured monitor and to the metrics; never raises.

    Anything else (``counters`` of the logging monitor, ``span`` of the Sentry one) is the
    configured monitor's.
    """

    def __init__(self, primary: Monitor, metrics: PrometheusMetrics) -> None:
        self.primary = primary
        self.metrics = metrics

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Report to both."""
        self.primary.capture_exception(exc, **context)
        self._safely(self.metrics.capture_exception, exc)

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Add to both."""
        self.primary.incr(metric, value, **tags)
        self._safely(self.metrics.incr, metric, value, **tags)

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Record in both."""
        self.primary.observe(metric, value, **tags)
        self._safely(self.metrics.observe, metric, value, **tags)

    def span(self, op: str, description: str, **tags: str) -> AbstractContextManager[None]:
        """The configured monitor's span, if it has spans."""
        return span(self.primary, op, description, **tags)

    @staticmethod
    def _safely(fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # a metric must never break the work it measures
            log.exception("metrics: could not record")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.primary, name)


def span(monitor: Monitor, op: str, description: str, **tags: str) -> AbstractContextManager[None]:
    """A performance span of ``monitor`` if it records spans (Sentry), else nothing."""
    maker = getattr(monitor, "span", None)
    if maker is None:
        return nullcontext()
    try:
        made: AbstractContextManager[None] = maker(op, description, **tags)
    except Exception:
        return nullcontext()
    return made


def record_model_usage(monitor: Monitor, model: str, usage: Usage) -> None:
    """Report a generation's tokens and cost (``ghostart_model_tokens_total``, ``..._cost_usd``)."""
    if usage.prompt_tokens:
        monitor.incr("ghostart.generation.tokens", usage.prompt_tokens, model=model, type="prompt")
    if usage.completion_tokens:
        monitor.incr(
            "ghostart.generation.tokens", usage.completion_tokens, model=model, type="completion"
        )
    if usage.cost_usd:
        monitor.incr("ghostart.generation.cost_usd", float(usage.cost_usd), model=model)


@contextmanager
def job_run(monitor: Monitor, job: Job) -> Iterator[None]:
    """Bind the job's ids to this task, run the block in a job span, and time it.

    The worker runs each delivery in a task of its own, so the ids bound here (the job's, and
    the request id the job carries) stay with that task: its log lines and Sentry events carry
    them. ``ghostart.jobs.seconds`` is reported with ``outcome`` ``done`` or ``error``.
    """
    bind_job(job)
    started, outcome = time.perf_counter(), "error"
    try:
        with span(
            monitor,
            "job",
            job.kind.value,
            kind=job.kind.value,
            job_id=str(job.id),
            organization_id=str(job.organization_id or ""),
        ):
            yield
        outcome = "done"
    finally:
        monitor.observe(
            "ghostart.jobs.seconds",
            time.perf_counter() - started,
            kind=job.kind.value,
            outcome=outcome,
        )


def serve_metrics(monitor: Monitor, host: str, port: int) -> None:
    """Serve ``monitor``'s metrics at ``http://host:port/metrics`` from a background thread.

    For processes without an HTTP API of their own (``ghostart worker --metrics-port``): job,
    provider and model series are recorded where the jobs run.
    """
    metrics = find_metrics(monitor)
    if metrics is None:
        raise ConfigurationError(
            "--metrics-port needs metrics: pip install 'ghostart[metrics]' "
            "and leave GHOSTART_METRICS unset or true"
        )
    _import_prometheus().start_http_server(port, addr=host, registry=metrics.registry)


def find_metrics(monitor: Monitor) -> PrometheusMetrics | None:
    """The metrics behind a monitor built by :func:`with_metrics`, if any."""
    metrics = getattr(monitor, "metrics", None)
    return metrics if isinstance(metrics, PrometheusMetrics) else None


def with_metrics(monitor: Monitor, settings: Settings) -> Monitor:
    """``monitor`` plus Prometheus metrics, per ``GHOSTART_METRICS``.

    Unset: metrics when prometheus-client is installed. ``true`` without it is a configuration
    error that names the package; ``false``: the monitor as it is.
    """
    wanted = getattr(settings, "metrics", None)
    if wanted is False:
        return monitor
    try:
        _import_prometheus()
    except ConfigurationError:
        if wanted:
            raise
        return monitor
    providers = {port: _scheme(getattr(settings, port, "")) for port in _PROVIDER_PORTS}
    return ObservedMonitor(monitor, PrometheusMetrics(providers=providers))


def _scheme(value: str) -> str:
    return value.partition("?")[0].partition("://")[0].split("+", 1)[0] or "unknown"
