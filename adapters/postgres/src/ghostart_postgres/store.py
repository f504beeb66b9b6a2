"""``PostgresStore``: the shared SQL repositories on PostgreSQL, every transaction run as its caller.

Each unit of work starts with one statement that sets, for that transaction only
(``set_config(..., true)``, as PostgREST does):

- ``role``: ``authenticated`` for a principal, ``service_role`` for the system (``actor=None``:
  the worker, sign-in, the reconciler). Never the connecting role, which usually owns the tables
  and would skip row-level security without a word.
- ``request.jwt.claims``: what Supabase's ``auth.uid()``/``auth.jwt()``/``auth.role()`` read
  (see :func:`claims_for`).
- ``statement_timeout`` (when configured) and ``transaction_read_only`` for read-only units of
  work.

``is_local`` is always true: a session-level setting would outlive the transaction and leak
into whatever unit of work the pool hands the connection to next.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ghostart.builtin.sql import SQLStore
from ghostart.builtin.sql.migrate import upgrade
from ghostart.builtin.sql.repositories import SQLUnitOfWork
from ghostart.errors import ConfigurationError, TransientError
from ghostart.models import Principal
from ghostart_postgres.settings import PostgresSettings, connection_options

__all__ = ["AUTHENTICATED", "SERVICE_ROLE", "PostgresStore", "claims_for"]

#: The role a principal's units of work run as (Supabase's signed-in role).
AUTHENTICATED = "authenticated"
#: The role the system's units of work run as (Supabase's service role: bypasses RLS).
SERVICE_ROLE = "service_role"

PROVIDER = "postgres"
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 0x67686F7374  # "ghost"

# SQLSTATE classes and codes worth another try: connection trouble, serialization failures and
# deadlocks, lock and statement timeouts, a server starting or shutting down, too many clients.
_TRANSIENT_CLASSES = ("08", "53", "57P")
_TRANSIENT_CODES = {"40001", "40P01", "55P03", "57014"}
# Wrong credentials or database name: retrying will not help, the setting must change.
_CONFIGURATION_CLASSES = ("28", "3D")
# The same refusals while connecting, where libpq reports a message but no SQLSTATE (the last
# one is Supavisor's answer to an unknown project in the user name).
_CONFIGURATION_MESSAGES = (
    "password authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "tenant or user not found",
)


def claims_for(actor: Principal | None) -> dict[str, Any]:
    """The JWT claims a unit of work runs with (``request.jwt.claims``).

    A principal, user or API key, acts as its user: ``sub`` is the user id (an API key's
    principal is its creator, who must still be a member), ``role`` is ``authenticated``.
    ``ghostart_org`` names the organization the principal acts in; the policies use it only to
    *narrow* what membership already allows, never to grant, so a forged or stale value can hide
    rows but never reveal them. ``ghostart_principal`` says whether a person or a key is acting.
    The system gets Supabase's service-role claims.
    """
    if actor is None:
        return {"role": SERVICE_ROLE}
    return {
        "sub": str(actor.user_id),
        "role": AUTHENTICATED,
        "aud": AUTHENTICATED,
        "ghostart_org": str(actor.organization_id),
        "ghostart_principal": actor.kind.value,
    }


def _begin_statement(statement_timeout_ms: int | None) -> Any:
    settings = [
        "set_config('role', :role, true)",
        "set_config('request.jwt.claims', :claims, true)",
        "set_config('transaction_read_only', :read_only, true)",
    ]
    if statement_timeout_ms is not None:
        settings.append(f"set_config('statement_timeout', '{int(statement_timeout_ms)}', true)")
    return text("SELECT " + ", ".join(settings))


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or "")


def _translate(exc: DBAPIError) -> Exception | None:
    """The ghostart error for a driver error, or ``None`` to let it through unchanged."""
    state = _sqlstate(exc)
    message = (str(exc.orig or exc).strip().splitlines() or [type(exc).__name__])[0]
    if state.startswith(_CONFIGURATION_CLASSES) or (
        not state and any(text in message.lower() for text in _CONFIGURATION_MESSAGES)
    ):
        return ConfigurationError(f"GHOSTART_DATABASE_URL: the server refused: {message}")
    if (
        state in _TRANSIENT_CODES
        or state.startswith(_TRANSIENT_CLASSES)
        or exc.connection_invalidated
        or (not state and isinstance(exc, OperationalError | InterfaceError))
    ):
        return TransientError(f"PostgreSQL: {message}", provider=PROVIDER, raw=state or None)
    return None


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        error = _translate(exc)
        if error is None:
            raise
        raise error from exc
    except PoolTimeout as exc:
        raise TransientError(
            "PostgreSQL: no free connection in the pool (raise GHOSTART_POSTGRES_POOL_SIZE?)",
            provider=PROVIDER,
        ) from exc


class PostgresStore(SQLStore):
    """The Store on PostgreSQL or Supabase, with row-level security.

    Args:
        url: ``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``; ghostart's own
            query options (``pool_size``, ``statement_timeout``, ``prepare_threshold``, ...; see
            :class:`~ghostart_postgres.settings.PostgresSettings`) are taken out of it.
        settings: Pool and session settings; read from ``GHOSTART_POSTGRES_*`` when omitted.
        engine: An engine to use instead of building one (tests).
    """

    def __init__(
        self,
        url: str | URL,
        *,
        settings: PostgresSettings | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        options = connection_options(url, settings)
        if engine is None:
            super().__init__(
                options.url.render_as_string(hide_password=False), **options.engine_options
            )
        else:
            super().__init__(options.url.render_as_string(hide_password=False), engine=engine)
        self.statement_timeout_ms = options.statement_timeout_ms
        self._begin = _begin_statement(options.statement_timeout_ms)

    @contextlib.asynccontextmanager
    async def unit_of_work(
        self, actor: Principal | None = None, *, readonly: bool = False
    ) -> AsyncIterator[SQLUnitOfWork]:
        """One transaction run as ``actor``; committed when the block ends cleanly.

        Connection failures, timeouts, deadlocks and serialization failures are raised as
        :class:`~ghostart.errors.TransientError`, so that the worker retries them.
        """
        with _translated():
            async with self.engine.begin() as conn:
                await self.on_begin(conn, actor, readonly=readonly)
                yield SQLUnitOfWork(conn)

    async def on_begin(
        self, conn: AsyncConnection, actor: Principal | None, *, readonly: bool = False
    ) -> None:
        """Set the role, the claims and the limits for this transaction only."""
        params = {
            "role": SERVICE_ROLE if actor is None else AUTHENTICATED,
            "claims": json.dumps(claims_for(actor), separators=(",", ":")),
            "read_only": "on" if readonly else "off",
        }
        try:
            await conn.execute(self._begin, params)
        except DBAPIError as exc:
            # 22023: the role does not exist; 42501: the connecting role may not SET ROLE to it.
            if _sqlstate(exc) not in {"22023", "42501"}:
                raise
            raise ConfigurationError(
                f"GHOSTART_DATABASE_URL: can not act as the role {params['role']!r} "
                f"({str(exc.orig).strip()}). Run `ghostart migrate` once (it creates the roles "
                "anon, authenticated and service_role if missing), and connect as a role that "
                "is a member of them (on Supabase: postgres)."
            ) from None

    async def migrate(self) -> None:
        """Run the Alembic migrations, one process at a time (an advisory lock)."""
        with _translated():
            async with self.engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
                await conn.run_sync(upgrade)
