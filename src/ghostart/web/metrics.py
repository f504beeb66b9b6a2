"""``GET /metrics``: the Prometheus exposition of this process, restrictable.

Who may scrape: with ``GHOSTART_METRICS_TOKEN`` set, only a request with
``Authorization: Bearer <token>`` (compared in constant time); without it, anyone in
development and nobody in production (404), since route names, error counts and process
figures tell an attacker more than they should. Without prometheus-client (``ghostart[metrics]``)
or with ``GHOSTART_METRICS=false`` the route answers 404.

The queue gauges are refreshed at each scrape: the depth the queue reports and the age of the
oldest job that is due and not finished (a read of the outbox).
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request, Response

from ghostart.app import Ghostart
from ghostart.errors import NotFound, Unauthenticated
from ghostart.observability.metrics import PrometheusMetrics, find_metrics
from ghostart.web.routers._common import ghostart_of, web_settings_of
from ghostart.web.settings import Environment

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _allowed(request: Request) -> bool:
    web = web_settings_of(request)
    if web.metrics_token is None:
        return web.env is not Environment.PRODUCTION
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Unauthenticated("metrics: send Authorization: Bearer <GHOSTART_METRICS_TOKEN>")
    if not hmac.compare_digest(
        value.strip().encode(), web.metrics_token.get_secret_value().encode()
    ):
        raise Unauthenticated("metrics: the token is not GHOSTART_METRICS_TOKEN")
    return True


async def _refresh_queue(app: Ghostart, metrics: PrometheusMetrics) -> None:
    depth: int | None = None
    size = getattr(app.queue, "size", None)
    try:
        if size is not None:
            counts = await size()
            depth = int(counts[0]) + int(counts[1])  # ready + delayed (not in flight)
    except Exception as exc:  # a scrape reports what it can
        app.monitor.capture_exception(exc, operation="metrics.queue_size")
    oldest = event = 0.0
    try:
        now = app.clock.now()
        async with app.store.unit_of_work(readonly=True) as uow:
            due = await uow.jobs.due(now=now, enqueued_before=now + timedelta(days=1), limit=1)
            undispatched = await uow.events.oldest_undispatched()
        if due:
            oldest = (now - due[0].run_at).total_seconds()
        if undispatched is not None:
            event = (now - undispatched).total_seconds()
    except Exception as exc:
        app.monitor.capture_exception(exc, operation="metrics.oldest_job")
    metrics.set_queue(depth=depth, oldest_age=oldest)
    metrics.set_events(oldest_age=event)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """The Prometheus text format (see ``docs/monitoring.md`` for the series)."""
    app = ghostart_of(request)
    found = find_metrics(app.monitor)
    if found is None or not _allowed(request):
        raise NotFound("no metrics here")
    await _refresh_queue(app, found)
    body, content_type = found.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
