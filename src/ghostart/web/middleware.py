"""ASGI middleware: request body limit, request metrics, HEAD, and HTTP caching of safe GETs."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghostart.ports import Monitor
from ghostart.web.problems import PROBLEM_JSON

__all__ = [
    "BodyLimitMiddleware",
    "HTTPCacheMiddleware",
    "HeadMiddleware",
    "MetricsMiddleware",
    "route_template",
]


def _problem_body(status: int, title: str, detail: str) -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode()


def route_template(scope: Scope) -> str:
    """The matched route as a template (``/v1/organizations/{organization_id}``), or ``unmatched``.

    FastAPI keeps an included router's prefix out of its routes' ``path``, so the template is
    the request path's leading segments (the prefixes) plus the route's own template. Ids
    never become metric labels.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    path_segments = str(scope.get("path", "")).split("/")
    own = template.split("/")[1:]  # without the empty segment before the leading slash
    keep = max(1, len(path_segments) - len(own))
    return "/".join([*path_segments[:keep], *own])


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = {v for k, v in scope.get("headers") or [] if k.lower() == b"content-length"}
        if lengths:
            declared = lengths.pop()
            if lengths or not declared.isdigit() or len(declared) > 19:
                await self._refuse(send, 400, "Bad request", "invalid Content-Length header")
                return
            if int(declared) > self.max_bytes:
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
        await self._refuse(send, 413, "Request body too large", self._detail())

    @staticmethod
    async def _refuse(send: Send, status: int, title: str, detail: str) -> None:
        body = _problem_body(status, title, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
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


class HeadMiddleware:
    """Answers ``HEAD`` on every ``GET`` route: the GET's status and headers, no body.

    RFC 9110 (9.3.2) wants HEAD wherever GET is served; FastAPI routes declare GET only. Put it
    outside :class:`HTTPCacheMiddleware` so the ``ETag`` is the GET body's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headless_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        # In place, so outer middleware sees the matched route; restored for their records.
        scope["method"] = "GET"
        try:
            await self.app(scope, receive, headless_send)
        finally:
            scope["method"] = "HEAD"


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
            if sum(map(len, chunks)) > self.max_body:  # too big to hash in memory: stream it
                passthrough = True
                assert start is not None
                out = list(start.get("headers", []))
                if not any(k.lower() == b"cache-control" for k, _ in out):
                    out.append((b"cache-control", b"private, no-cache"))
                await send({**start, "headers": out})
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"".join(chunks),
                        "more_body": bool(message.get("more_body")),
                    }
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
        if match is not None and _weak_match(match, etag):
            kept = [(k, v) for k, v in response_headers if k.lower() != b"content-length"]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})


def _weak_match(header: bytes, etag: bytes) -> bool:
    """``If-None-Match`` by weak comparison (RFC 9110 13.1.2): ``*`` or any tag, W/ ignored."""
    ours = etag.removeprefix(b"W/")
    candidates = [c.strip() for c in header.split(b",")]
    return any(c == b"*" or c.removeprefix(b"W/") == ours for c in candidates)
