"""Request ids and API-call analytics, as one ASGI middleware.

Every request gets an id (the client's ``X-Request-ID`` when well formed, else a new one),
bound for the request's duration (log lines and the jobs the request creates carry it) and
returned in the ``X-Request-ID`` header. A request that an organization's principal made
(the ``org_principal`` dependency leaves it in the request state) is counted as an API call
of that organization and user, by route template and status: appended to the
:class:`~ghostart.observability.analytics.AnalyticsRecorder`'s buffer, no I/O on the way.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghostart.models import Principal
from ghostart.observability.analytics import AnalyticsRecorder
from ghostart.observability.correlation import bind, new_request_id, valid_request_id
from ghostart.ports import Clock
from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind
from ghostart.web.middleware import route_template

__all__ = ["PAGE_VIEW_ROUTE", "RequestContextMiddleware"]

#: The page-view beacon counts as a page view, not as an API call.
PAGE_VIEW_ROUTE = "/v1/organizations/{organization_id}/analytics/page-views"


class RequestContextMiddleware:
    """Binds a request id; counts organizations' API calls for usage analytics."""

    def __init__(self, app: ASGIApp, *, recorder: Any, clock: Clock) -> None:
        self.app = app
        self.recorder: AnalyticsRecorder | None = recorder
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"x-request-id")
        request_id = valid_request_id(raw.decode("latin-1") if raw else None) or new_request_id()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                out = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                out.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": out}
            await send(message)

        with bind(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._count(scope, status)

    def _count(self, scope: Scope, status: int) -> None:
        if self.recorder is None:
            return
        state = scope.get("state") or {}
        principal = state.get("principal") if isinstance(state, dict) else None
        if not isinstance(principal, Principal):
            return
        route = route_template(scope)
        if route == PAGE_VIEW_ROUTE:
            return
        self.recorder.record(
            AnalyticsEvent(
                kind=AnalyticsKind.API_CALL,
                organization_id=principal.organization_id,
                user_id=principal.user_id,
                name=f"{scope['method']} {route}",
                status=status,
                at=self.clock.now(),
            )
        )
