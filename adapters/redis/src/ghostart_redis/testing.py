"""Test helpers for code that runs on ghostart-redis.

URL tweaks, a recording Monitor, and a TCP proxy that cuts Redis off and restores it, for fault
tests that run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["Proxy", "RecordingMonitor", "closed_port", "with_address", "with_options"]


def with_options(url: str, **options: Any) -> str:
    """``url`` with query options added (or replaced)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | {k: str(v) for k, v in options.items()}
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_address(url: str, host: str, port: int) -> str:
    """``url`` pointing at another host and port (user, password, db and options kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def closed_port() -> int:
    """A local TCP port nobody listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RecordingMonitor:
    """A Monitor that keeps what it is told: exceptions with their context, counter totals."""

    def __init__(self) -> None:
        self.exceptions: list[tuple[BaseException, dict[str, Any]]] = []
        self.counters: dict[str, float] = {}

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Keep the exception and its context."""
        self.exceptions.append((exc, context))

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Add to the metric's total (tags are ignored)."""
        self.counters[metric] = self.counters.get(metric, 0) + value

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Ignore measurements."""


class Proxy:
    """A TCP proxy in front of Redis that a test can cut (refused connections) and restore.

    ``down()`` drops every open connection and stops listening; ``up()`` listens again on the
    same port. ``stall()`` keeps accepting but never forwards (a server that hangs).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.stalled = False

    async def up(self) -> None:
        """Listen (again, on the same port once it has one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        self._writers.clear()

    def stall(self) -> None:
        """From now on, accept connections but never answer."""
        self.stalled = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.stalled:
            with contextlib.suppress(Exception):
                await reader.read()  # swallow, never answer
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        for task in (
            asyncio.create_task(pump(reader, up_writer)),
            asyncio.create_task(pump(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
