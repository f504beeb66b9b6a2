"""``create_app``: a complete HTTP API over a :class:`~ghostart.app.Ghostart`.

The example service (``examples/service``) is this plus its web page; an application of your
own can use it as is, or take the pieces (routers, :mod:`ghostart.web.auth`, the problem
handlers and middleware) and compose them differently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ghostart.app import Ghostart
from ghostart.observability.analytics import AnalyticsRecorder
from ghostart.settings import Settings, load_settings
from ghostart.web.auth import Authenticator
from ghostart.web.metrics import router as metrics_router
from ghostart.web.middleware import (
    BodyLimitMiddleware,
    HeadMiddleware,
    HTTPCacheMiddleware,
    MetricsMiddleware,
)
from ghostart.web.observability import RequestContextMiddleware
from ghostart.web.problems import install_problem_handlers
from ghostart.web.routers import api_router, health_router
from ghostart.web.settings import WebSettings, load_web_settings

__all__ = ["create_app"]


def create_app(
    ghostart: Ghostart | None = None,
    *,
    settings: Settings | None = None,
    web_settings: WebSettings | None = None,
    title: str = "ghostart",
) -> FastAPI:
    """The API. The ghostart app (and its in-process worker) runs for the app's lifespan."""
    settings = settings or (ghostart.settings if ghostart else load_settings())
    web = web_settings or load_web_settings(home=settings.home)
    core = ghostart or Ghostart.from_settings(settings)
    # Usage analytics of API calls and page views, written in batches (issue 10).
    recorder = AnalyticsRecorder(core.store, core.monitor, interval=web.analytics_flush_seconds)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        await core.start()
        recorder.start()
        auth = Authenticator(core, web)
        api.state.authenticator = auth
        try:
            yield
        finally:
            await auth.aclose()
            await recorder.aclose()
            await core.aclose()

    api = FastAPI(title=title, version="1", lifespan=lifespan)
    api.state.ghostart = core
    api.state.web_settings = web
    api.state.monitor = core.monitor
    api.state.analytics = recorder
    install_problem_handlers(api)
    api.include_router(health_router)
    api.include_router(api_router())
    api.include_router(metrics_router)
    # Outermost last: the body limit acts before anything reads the body.
    api.add_middleware(HTTPCacheMiddleware, public=frozenset({"/v1/plans"}))
    api.add_middleware(HeadMiddleware)
    api.add_middleware(MetricsMiddleware, monitor=core.monitor)
    api.add_middleware(BodyLimitMiddleware, max_bytes=web.max_body_bytes)
    api.add_middleware(RequestContextMiddleware, recorder=recorder, clock=core.clock)
    return api
