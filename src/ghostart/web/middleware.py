"""ASGI middleware: request body limit, request metrics, and HTTP caching of safe GETs."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghostart.ports import Monitor
from ghostart.web.problems import PROBLEM_JSON

__all__ = ["BodyLimitMiddleware", "HTTPCacheMiddleware", "MetricsMiddleware", "route_template"]


def _problem_body(status: int, title: str, detail: str) -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode()


def route_template(scope: Scope) -> str:
    """The matched route as a template (``/v1/organizations/{organization_id}``), or ``unmatched``.

    Built from the request path and its path parameters, so ids never become metric labels.
    """
    if scope.get("route") is None:
        return "unmatched"
    by_value = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    segments = str(scope.get("path", "")).split("/")
    return "/".join(f"{{{by_value[s]}}}" if s in by_value else s for s in segments)


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException passes through FastAPI's body parsing (anything else
                    # would become its generic 400) to the problem handler.
                    raise _TooLarge(status_code=413, detail=self._detail())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    def _detail(self) -> str:
        return f"request bodies are limited to {self.max_bytes} bytes"

    async def _too_large(self, send: Send) -> None:
        body = _problem_body(413, "Request body too large", self._detail())
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    pass


class MetricsMiddleware:
    """Reports every request's latency and status to the Monitor, by route template."""

    def __init__(self, app: ASGIApp, *, monitor: Monitor) -> None:
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            tags = {
                "method": scope["method"],
                "route": route_template(scope),
                "status": str(status),
            }
            self.monitor.observe("ghostart.http.seconds", time.perf_counter() - started, **tags)
            self.monitor.incr("ghostart.http.requests", **tags)


class HTTPCacheMiddleware:
    """``ETag`` and ``Cache-Control`` on successful GETs; ``304`` for a matching ``If-None-Match``.

    Anything sent with credentials is ``private`` (never stored by shared caches); public
    routes listed in ``public`` may be cached by shared caches for ``public_max_age`` seconds.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        public: frozenset[str] = frozenset(),
        public_max_age: int = 300,
        max_body: int = 2_000_000,
    ) -> None:
        self.app = app
        self.public = public
        self.public_max_age = public_max_age
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        credentials = b"authorization" in headers or b"x-api-key" in headers
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def buffering_send(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = dict(message)
                if start["status"] != 200:
                    passthrough = True
                    await send(message)
                return
            chunks.append(message.get("body", b""))
            if sum(map(len, chunks)) > self.max_body:  # too big to hash in memory: send as is
                passthrough = True
                assert start is not None
                await send(start)
                await send(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )
                return
            if message.get("more_body"):
                return
            assert start is not None
            await self._finish(scope, headers, credentials, start, b"".join(chunks), send)

        await self.app(scope, receive, buffering_send)

    async def _finish(
        self,
        scope: Scope,
        request_headers: dict[bytes, bytes],
        credentials: bool,
        start: dict[str, Any],
        body: bytes,
        send: Send,
    ) -> None:
        response_headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"etag"]
        etag = b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        has_cache_control = any(k.lower() == b"cache-control" for k, _ in response_headers)
        if not has_cache_control:
            if credentials or route_template(scope) not in self.public:
                policy = b"private, no-cache"
            else:
                policy = f"public, max-age={self.public_max_age}".encode()
            response_headers.append((b"cache-control", policy))
        response_headers.append((b"etag", etag))
        if not any(k.lower() == b"vary" for k, _ in response_headers):
            response_headers.append((b"vary", b"Authorization, X-API-Key"))
        match = request_headers.get(b"if-none-match")
        if match is not None and etag in [m.strip() for m in match.split(b",")]:
            kept = [(k, v) for k, v in response_headers if k.lower() != b"content-length"]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
