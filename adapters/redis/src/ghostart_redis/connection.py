"""From a Redis URL to a redis-py asyncio client: one server, Sentinel or Cluster, bounded.

URL forms (``rediss`` in place of ``redis`` for TLS)::

    redis://[[user]:password@]host[:6379][/db]
    redis+sentinel://[[user]:password@]host[:26379][,host2[:26379]...]/service[/db]
    redis+cluster://[[user]:password@]host[:6379][,host2[:6379]...]

Every command is bounded: a pool of ``max_connections`` that waits up to ``pool_timeout`` for a
free connection (redis-py's own async pools raise at once when full), socket timeouts, and no
redis-py retries (ghostart's ``RetryPolicy`` and the worker decide what is retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from redis import exceptions as rexc
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from ghostart.errors import ConfigurationError, PermanentError, TransientError
from ghostart.registry import AdapterURL
from ghostart_redis.url import (
    URLOptions,
    parse_bool,
    parse_database,
    split_hosts,
    typed_options,
)

__all__ = [
    "COMMON_OPTIONS",
    "ConnectionDefaults",
    "Mode",
    "RedisConnection",
    "translated",
]

PROVIDER = "redis"

log = logging.getLogger("ghostart.redis")

Mode = Literal["standalone", "sentinel", "cluster"]

#: Query options every ghostart-redis adapter understands.
COMMON_OPTIONS = frozenset(
    {
        "max_connections",
        "pool_timeout",
        "timeout",
        "connect_timeout",
        "prefix",
        "sentinel_username",
        "sentinel_password",
    }
)


#: redis-py connection options passed through as they are, with their types.
_PASS_THROUGH: dict[str, Callable[[str], object]] = {
    "client_name": str,
    "health_check_interval": int,
    "socket_keepalive": parse_bool,
}
_TLS_OPTIONS: dict[str, Callable[[str], object]] = {
    "ssl_cert_reqs": str,
    "ssl_ca_certs": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_check_hostname": parse_bool,
}

_DEFAULT_PORT = {"standalone": 6379, "sentinel": 26379, "cluster": 6379}


@dataclass(frozen=True, slots=True)
class ConnectionDefaults:
    """Each adapter's defaults for the connection options a URL may override."""

    max_connections: int = 20
    #: Seconds to wait for a free connection before failing.
    pool_timeout: float = 5.0
    #: Socket read/write timeout in seconds; ``None`` waits for ever.
    timeout: float | None = 5.0
    connect_timeout: float = 2.0
    #: Seconds between PINGs on an idle connection (0: none); long-lived subscriptions need it.
    health_check_interval: int = 0


class RedisConnection:
    """A redis-py asyncio client for one adapter, built from a URL by :meth:`from_url`.

    Attributes:
        client: The client (``redis.asyncio.Redis`` or ``RedisCluster``). Nothing connects
            until the first command.
        mode: ``"standalone"``, ``"sentinel"`` or ``"cluster"``.
        prefix: The key namespace of the deployment (option ``prefix``, default ``ghostart``).
        url: The URL with any password hidden, for messages.
        socket_timeout: Seconds a command may wait for its reply (``None``: for ever).
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        mode: Mode,
        prefix: str,
        url: str,
        limit: int | None = None,
        pool_timeout: float = 5.0,
        socket_timeout: float | None = None,
        closers: Collection[Redis] = (),
    ) -> None:
        self.client = client
        self.mode = mode
        self.prefix = prefix
        self.url = url
        self.pool_timeout = pool_timeout
        self.socket_timeout = socket_timeout
        # Sentinel and Cluster pools raise when full: a semaphore of the pool's size keeps the
        # commands in flight within it (the standalone pool waits by itself).
        self._limit = asyncio.Semaphore(limit) if limit is not None else None
        self._closers = list(closers)
        self._closed = False

    @classmethod
    def from_url(
        cls,
        url: str | AdapterURL,
        *,
        own_options: Collection[str] = (),
        defaults: ConnectionDefaults = ConnectionDefaults(),
    ) -> RedisConnection:
        """Build the client for ``url`` (nothing connects yet).

        Args:
            url: A ``redis``/``rediss`` URL, optionally ``+sentinel`` or ``+cluster``.
            own_options: The query options the calling adapter reads itself; any other option
                that is neither common nor a redis-py pass-through is a ``ConfigurationError``.
            defaults: The adapter's defaults for the connection options.

        Raises:
            ConfigurationError: The URL is malformed or names an unknown option.
        """
        parsed = url if isinstance(url, AdapterURL) else AdapterURL.parse(url)
        options = URLOptions(parsed)
        shown = options.shown
        base, _, variant = parsed.scheme.partition("+")
        if base not in {"redis", "rediss"} or variant not in {"", "sentinel", "cluster"}:
            raise ConfigurationError(
                f"{shown}: unsupported scheme {parsed.scheme!r}; use redis://, rediss://, "
                "redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://"
            )
        mode: Mode = "sentinel" if variant == "sentinel" else "cluster" if variant else "standalone"
        tls = base == "rediss"
        known = COMMON_OPTIONS | set(own_options) | set(_PASS_THROUGH) | set(_TLS_OPTIONS)
        unknown = sorted(set(parsed.options) - known)
        if unknown:
            raise ConfigurationError(
                f"{shown}: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        extra = typed_options(options, _PASS_THROUGH)
        if defaults.health_check_interval:
            extra.setdefault("health_check_interval", defaults.health_check_interval)
        tls_options = typed_options(options, _TLS_OPTIONS)
        if tls_options and not tls:
            raise ConfigurationError(
                f"{shown}: {', '.join(sorted(tls_options))} need TLS: use a rediss:// URL"
            )
        max_connections = options.whole(
            "max_connections", defaults.max_connections, minimum=1, maximum=100_000
        )
        pool_timeout = options.positive("pool_timeout", defaults.pool_timeout)
        socket_timeout: float | None = options.number(
            "timeout", -1.0 if defaults.timeout is None else defaults.timeout
        )
        if socket_timeout is not None and socket_timeout <= 0:
            socket_timeout = None  # 0 or less: wait for ever
        connect_timeout = options.positive("connect_timeout", defaults.connect_timeout)
        prefix = options.text("prefix") or "ghostart"
        if "{" in prefix or "}" in prefix:
            raise ConfigurationError(
                f"{shown}: option 'prefix' may not contain braces (they make Cluster hash tags)"
            )

        username, password, hosts = split_hosts(parsed.netloc, shown, _DEFAULT_PORT[mode])
        kwargs: dict[str, Any] = {
            "username": username,
            "password": password,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
            # One policy rules retries: redis-py's own are off.
            "retry": Retry(NoBackoff(), 0),
            "protocol": 2,
            **extra,
        }
        segments = [unquote(s) for s in parsed.path.split("/") if s]
        if mode == "standalone":
            if len(hosts) != 1:
                raise ConfigurationError(
                    f"{shown}: one host expected; for several use redis+sentinel:// or "
                    "redis+cluster://"
                )
            db = parse_database(shown, segments)
            (host, port) = hosts[0]
            pool = BlockingConnectionPool(
                max_connections=max_connections,
                timeout=pool_timeout,
                connection_class=SSLConnection if tls else Connection,
                host=host,
                port=port,
                db=db,
                **kwargs,
                **tls_options,
            )
            return cls(
                Redis.from_pool(pool),
                mode=mode,
                prefix=prefix,
                url=shown,
                pool_timeout=pool_timeout,
                socket_timeout=socket_timeout,
            )
        if mode == "sentinel":
            if not segments:
                raise ConfigurationError(
                    f"{shown}: name the monitored master, e.g. "
                    "redis+sentinel://host1:26379,host2:26379/mymaster/0"
                )
            service, db = segments[0], parse_database(shown, segments[1:])
            sentinel_kwargs: dict[str, Any] = {
                "username": options.text("sentinel_username"),
                "password": options.text("sentinel_password"),
                "socket_timeout": socket_timeout,
                "socket_connect_timeout": connect_timeout,
                "retry": Retry(NoBackoff(), 0),
                "protocol": 2,
            }
            if tls:
                sentinel_kwargs.update(ssl=True, **tls_options)
            sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
                hosts,
                sentinel_kwargs=sentinel_kwargs,
                db=db,
                ssl=tls,
                **kwargs,
                **tls_options,
            )
            client = sentinel.master_for(service, max_connections=max_connections)
            return cls(
                client,
                mode=mode,
                prefix=prefix,
                url=shown,
                limit=max_connections,
                pool_timeout=pool_timeout,
                socket_timeout=socket_timeout,
                closers=sentinel.sentinels,
            )
        if parse_database(shown, segments) != 0:
            raise ConfigurationError(f"{shown}: Redis Cluster has only database 0")
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in hosts],
            max_connections=max_connections,
            ssl=tls,
            **kwargs,
            **tls_options,
        )
        return cls(
            cluster,
            mode=mode,
            prefix=prefix,
            url=shown,
            limit=max_connections,
            pool_timeout=pool_timeout,
            socket_timeout=socket_timeout,
        )

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_connections`` slots (Sentinel and Cluster) for a command."""
        if self._limit is None:
            yield
            return
        try:
            async with asyncio.timeout(self.pool_timeout):
                await self._limit.acquire()
        except TimeoutError:
            raise rexc.ConnectionError("No connection available.") from None
        try:
            yield
        finally:
            self._limit.release()

    async def check(self, what: str) -> TransientError | None:
        """PING the server when the app starts (``open()``).

        Returns the error if Redis is unreachable: the caller reports it and carries on, since
        Redis down must not stop a service from starting. Refused credentials raise: that is a
        setting to fix, better seen at once.

        Raises:
            ConfigurationError: Redis refused the user, password or ACL of the URL.
        """
        try:
            with translated(f"{what} check"):
                async with self.slot():
                    await self.client.ping()
        except TransientError as exc:
            log.warning("%s: Redis at %s is unreachable at start: %s", what, self.url, exc)
            return exc
        except PermanentError as exc:  # an error reply to PING: e.g. a server still loading
            log.warning("%s: Redis at %s answered PING with an error: %s", what, self.url, exc)
            return TransientError(str(exc), provider=PROVIDER)
        return None

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Close every connection; the client can not be used afterwards."""
        self._closed = True
        with contextlib.suppress(Exception):
            await self.client.aclose()
        for closer in self._closers:
            with contextlib.suppress(Exception):
                await closer.aclose()


@contextlib.contextmanager
def translated(operation: str) -> Iterator[None]:
    """Translate redis-py errors into ghostart's taxonomy, once, at the boundary.

    Connection problems, timeouts, a server loading or out of memory, a replica that is read
    only after a failover, and Cluster resharding are ``TransientError``; refused credentials
    are a ``ConfigurationError``; any other error reply is a ``PermanentError``.
    """
    try:
        yield
    except (rexc.AuthenticationError, rexc.AuthorizationError, rexc.NoPermissionError) as exc:
        raise ConfigurationError(
            f"Redis refused {operation}: {exc}; check the user, password and ACL in the URL"
        ) from exc
    except (
        rexc.ConnectionError,
        rexc.TimeoutError,
        rexc.ReadOnlyError,
        rexc.OutOfMemoryError,
        rexc.TryAgainError,
        rexc.ClusterDownError,
        rexc.ClusterError,
        rexc.RedisClusterException,
        OSError,
        TimeoutError,
    ) as exc:
        raise TransientError(f"Redis {operation}: {exc}", provider=PROVIDER) from exc
    except rexc.ResponseError as exc:
        raise PermanentError(f"Redis {operation}: {exc}", provider=PROVIDER) from exc
    except rexc.RedisError as exc:
        raise TransientError(f"Redis {operation}: {exc}", provider=PROVIDER) from exc
